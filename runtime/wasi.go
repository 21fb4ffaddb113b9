package runtime

import (
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"path"
)

// The guest's WASI (wasi_snapshot_preview1), closed and deterministic, as
// one engine-neutral table that every engine binds: no files but the three
// standard streams (stdin empty, stdout discarded, stderr kept for crash
// reports), no environment or arguments, a clock fixed by the job and a
// random source seeded by it. Every function mirrors what wazero's own
// WASI answered under the same closed configuration (errno for errno, byte
// for byte; TestWASIMatchesWazero checks it), so guests see exactly what
// they saw before the engines shared this table.

const wasiModule = "wasi_snapshot_preview1"

// WASI errno values.
const (
	errnoSuccess     = 0
	errnoBadf        = 8
	errnoFault       = 21
	errnoInval       = 28
	errnoIo          = 29
	errnoNametoolong = 37
	errnoNosys       = 52
	errnoNotdir      = 54
	errnoNotsup      = 58
	errnoPerm        = 63
)

// WASI rights of a stdio stream (wazero's fileRightsBase).
const wasiFileRights = 1<<0 | 1<<1 | 1<<2 | 1<<3 | 1<<4 | 1<<5 | 1<<6 | 1<<7 | 1<<8 | 1<<21 | 1<<22 | 1<<23 | 1<<27

// wasiBlockDevice is the filetype wazero reports for its stdio streams.
const wasiBlockDevice = 1

// wasiState is one instance's WASI: its clock, random source, stderr and
// which of the three standard streams it has closed.
type wasiState struct {
	clock  *fakeClock
	rand   io.Reader
	stderr io.Writer
	closed [3]bool
}

// exitError is a guest's proc_exit.
type exitError struct{ code uint32 }

func (e *exitError) Error() string { return fmt.Sprintf("guest exited with code %d", e.code) }

// open reports whether fd is one of the streams still open.
func (w *wasiState) open(fd int32) bool { return fd >= 0 && fd <= 2 && !w.closed[fd] }

func (w *wasiState) write(fd int32, b []byte) {
	if fd == 2 {
		w.stderr.Write(b)
	}
}

// mem helpers over the caller's memory, with wazero's bounds semantics.
func memU32(m caller, off uint32, v uint32) bool {
	b, ok := m.Read(off, 4)
	if ok {
		binary.LittleEndian.PutUint32(b, v)
	}
	return ok
}

func memU64(m caller, off uint32, v uint64) bool {
	b, ok := m.Read(off, 8)
	if ok {
		binary.LittleEndian.PutUint64(b, v)
	}
	return ok
}

type wasiFn func(w *wasiState, m caller, p []uint64) uint32

func wasiFunc(name string, params []valType, f wasiFn) hostFunc {
	return hostFunc{module: wasiModule, name: name, params: params, results: []valType{valI32},
		sys: func(env *instanceEnv, c caller, stack []uint64) {
			stack[0] = uint64(f(env.wasi, c, stack))
		}}
}

func wasiStub(name string, params []valType) hostFunc {
	return wasiFunc(name, params, func(*wasiState, caller, []uint64) uint32 { return errnoNosys })
}

// wasiLookup is the errno of an fd lookup: 0 for an open stream.
func (w *wasiState) lookup(fd int32) uint32 {
	if w.open(fd) {
		return 0
	}
	return errnoBadf
}

// atPath resolves a path relative to fd: no fd is a directory, so it fails
// with wazero's errno after reading and cleaning the path as wazero does.
func (w *wasiState) atPath(m caller, fd int32, p, n uint32) uint32 {
	b, ok := m.Read(p, n)
	if !ok {
		return errnoFault
	}
	if !fs.ValidPath(path.Clean(string(b))) {
		return errnoPerm
	}
	if !w.open(fd) {
		return errnoBadf
	}
	return errnoNotdir
}

// times checks fd_filestat_set_times-style flags (reading the clock for
// the "now" flags as wazero did).
func (w *wasiState) times(flags uint16) uint32 {
	if flags&1 != 0 && flags&2 != 0 || flags&4 != 0 && flags&8 != 0 {
		return errnoInval
	}
	if flags&2 != 0 || flags&8 != 0 {
		w.clock.walltime()
	}
	return 0
}

// iovecs walks an iovec array as wazero's readv and writev do; each
// returns the errno or the byte count.
func iovecs(m caller, iovs, count uint32, skipEmpty bool, each func(b []byte) (int, uint32)) (uint32, uint32) {
	stop := count << 3
	buf, ok := m.Read(iovs, stop)
	if !ok {
		return 0, errnoFault
	}
	var total uint32
	for pos := uint32(0); pos < stop; pos += 8 {
		off := binary.LittleEndian.Uint32(buf[pos:])
		l := binary.LittleEndian.Uint32(buf[pos+4:])
		if skipEmpty && l == 0 {
			continue
		}
		b, ok := m.Read(off, l)
		if !ok {
			return 0, errnoFault
		}
		n, errno := each(b)
		total += uint32(n)
		if errno != 0 {
			return 0, errno
		}
		if skipEmpty && n < int(l) {
			break
		}
	}
	return total, 0
}

var (
	i32x1 = []valType{valI32}
	i32x2 = []valType{valI32, valI32}
	i32x3 = []valType{valI32, valI32, valI32}
	i32x4 = []valType{valI32, valI32, valI32, valI32}
	i32x5 = []valType{valI32, valI32, valI32, valI32, valI32}
	i32x6 = []valType{valI32, valI32, valI32, valI32, valI32, valI32}
)

func wasiFunctions() []hostFunc {
	empty := func(w *wasiState, m caller, p []uint64) uint32 { // args_get, environ_get
		if _, ok := m.Read(uint32(p[0]), 0); !ok {
			return errnoFault
		}
		if _, ok := m.Read(uint32(p[1]), 0); !ok {
			return errnoFault
		}
		return 0
	}
	sizes := func(w *wasiState, m caller, p []uint64) uint32 { // args_sizes_get, environ_sizes_get
		if !memU32(m, uint32(p[0]), 0) || !memU32(m, uint32(p[1]), 0) {
			return errnoFault
		}
		return 0
	}
	readv := func(w *wasiState, m caller, fd int32, iovs, n uint32, pread bool, result uint32) uint32 {
		if !w.open(fd) {
			return errnoBadf
		}
		nread, errno := iovecs(m, iovs, n, true, func(b []byte) (int, uint32) {
			if fd != 0 || pread {
				return 0, errnoBadf // ENOSYS from the stream, which readv reports as EBADF
			}
			return 0, 0 // stdin is empty
		})
		if errno != 0 {
			return errno
		}
		if !memU32(m, result, nread) {
			return errnoFault
		}
		return 0
	}
	writev := func(w *wasiState, m caller, fd int32, iovs, n uint32, pwrite bool, result uint32) uint32 {
		if !w.open(fd) {
			return errnoBadf
		}
		nw, errno := iovecs(m, iovs, n, false, func(b []byte) (int, uint32) {
			if pwrite {
				if len(b) == 0 {
					return 0, 0
				}
				return 0, errnoBadf
			}
			if fd == 0 {
				return 0, errnoBadf
			}
			w.write(fd, b)
			return len(b), 0
		})
		if errno != 0 {
			return errno
		}
		if !memU32(m, result, nw) {
			return errnoFault
		}
		return 0
	}
	seek := func(w *wasiState, fd int32) uint32 {
		if !w.open(fd) {
			return errnoBadf
		}
		return errnoNosys
	}
	atPath := func(w *wasiState, m caller, p []uint64) uint32 {
		return w.atPath(m, int32(p[0]), uint32(p[1]), uint32(p[2]))
	}
	return []hostFunc{
		wasiFunc("args_get", i32x2, empty),
		wasiFunc("args_sizes_get", i32x2, sizes),
		wasiFunc("environ_get", i32x2, empty),
		wasiFunc("environ_sizes_get", i32x2, sizes),
		wasiFunc("clock_res_get", i32x2, func(w *wasiState, m caller, p []uint64) uint32 {
			if id := uint32(p[0]); id > 1 {
				return errnoInval
			}
			if !memU64(m, uint32(p[1]), 1) {
				return errnoFault
			}
			return 0
		}),
		wasiFunc("clock_time_get", []valType{valI32, valI64, valI32}, func(w *wasiState, m caller, p []uint64) uint32 {
			var v int64
			switch uint32(p[0]) {
			case 0:
				sec, nsec := w.clock.walltime()
				v = sec*1e9 + int64(nsec)
			case 1:
				v = w.clock.nanotime()
			default:
				return errnoInval
			}
			if !memU64(m, uint32(p[2]), uint64(v)) {
				return errnoFault
			}
			return 0
		}),
		wasiFunc("fd_advise", []valType{valI32, valI64, valI64, valI32}, func(w *wasiState, m caller, p []uint64) uint32 {
			if !w.open(int32(p[0])) {
				return errnoBadf
			}
			if byte(p[3]) > 5 {
				return errnoInval
			}
			return 0
		}),
		wasiFunc("fd_allocate", []valType{valI32, valI64, valI64}, func(w *wasiState, m caller, p []uint64) uint32 {
			if !w.open(int32(p[0])) {
				return errnoBadf
			}
			tail := int64(p[1] + p[2])
			switch {
			case tail < 0:
				return errnoInval
			case tail == 0:
				return 0 // the stream's size, 0, is enough
			}
			return errnoNosys
		}),
		wasiFunc("fd_close", i32x1, func(w *wasiState, m caller, p []uint64) uint32 {
			fd := int32(p[0])
			if !w.open(fd) {
				return errnoBadf
			}
			w.closed[fd] = true
			return 0
		}),
		wasiFunc("fd_datasync", i32x1, func(w *wasiState, m caller, p []uint64) uint32 { return w.lookup(int32(p[0])) }),
		wasiFunc("fd_fdstat_get", i32x2, func(w *wasiState, m caller, p []uint64) uint32 {
			b, ok := m.Read(uint32(p[1]), 24)
			if !ok {
				return errnoFault
			}
			if !w.open(int32(p[0])) {
				return errnoBadf
			}
			binary.LittleEndian.PutUint16(b[0:], wasiBlockDevice)
			binary.LittleEndian.PutUint16(b[2:], 0)
			binary.LittleEndian.PutUint32(b[4:], 0)
			binary.LittleEndian.PutUint64(b[8:], wasiFileRights)
			binary.LittleEndian.PutUint64(b[16:], 0)
			return 0
		}),
		wasiFunc("fd_fdstat_set_flags", i32x2, func(w *wasiState, m caller, p []uint64) uint32 {
			flags := uint16(p[1])
			if flags&(2|8|16) != 0 { // DSYNC, RSYNC, SYNC
				return errnoInval
			}
			if !w.open(int32(p[0])) {
				return errnoBadf
			}
			if flags&4 != 0 { // NONBLOCK
				return errnoNosys
			}
			return 0
		}),
		wasiStub("fd_fdstat_set_rights", []valType{valI32, valI64, valI64}),
		wasiFunc("fd_filestat_get", i32x2, func(w *wasiState, m caller, p []uint64) uint32 {
			b, ok := m.Read(uint32(p[1]), 64)
			if !ok {
				return errnoFault
			}
			if !w.open(int32(p[0])) {
				return errnoBadf
			}
			clear(b)
			b[16] = wasiBlockDevice
			b[24] = 1 // nlink
			return 0
		}),
		wasiFunc("fd_filestat_set_size", []valType{valI32, valI64}, func(w *wasiState, m caller, p []uint64) uint32 {
			return seek(w, int32(p[0]))
		}),
		wasiFunc("fd_filestat_set_times", []valType{valI32, valI64, valI64, valI32}, func(w *wasiState, m caller, p []uint64) uint32 {
			if !w.open(int32(p[0])) {
				return errnoBadf
			}
			if e := w.times(uint16(p[3])); e != 0 {
				return e
			}
			// wazero fell back to a path-based call on a nil file system
			// here (a host panic); the stream cannot be stamped.
			return errnoNosys
		}),
		wasiFunc("fd_pread", []valType{valI32, valI32, valI32, valI64, valI32}, func(w *wasiState, m caller, p []uint64) uint32 {
			return readv(w, m, int32(p[0]), uint32(p[1]), uint32(p[2]), true, uint32(p[4]))
		}),
		wasiFunc("fd_prestat_get", i32x2, func(w *wasiState, m caller, p []uint64) uint32 {
			if !w.open(int32(p[0])) {
				return errnoBadf
			}
			// wazero answers a stdio stream with an empty pre-open name.
			if !memU64(m, uint32(p[1]), 0) {
				return errnoFault
			}
			return 0
		}),
		wasiFunc("fd_prestat_dir_name", i32x3, func(w *wasiState, m caller, p []uint64) uint32 {
			if !w.open(int32(p[0])) {
				return errnoBadf
			}
			if uint32(p[2]) > 0 {
				return errnoNametoolong
			}
			if _, ok := m.Read(uint32(p[1]), 0); !ok {
				return errnoFault
			}
			return 0
		}),
		wasiFunc("fd_pwrite", []valType{valI32, valI32, valI32, valI64, valI32}, func(w *wasiState, m caller, p []uint64) uint32 {
			return writev(w, m, int32(p[0]), uint32(p[1]), uint32(p[2]), true, uint32(p[4]))
		}),
		wasiFunc("fd_read", i32x4, func(w *wasiState, m caller, p []uint64) uint32 {
			return readv(w, m, int32(p[0]), uint32(p[1]), uint32(p[2]), false, uint32(p[3]))
		}),
		wasiFunc("fd_readdir", []valType{valI32, valI32, valI32, valI64, valI32}, func(w *wasiState, m caller, p []uint64) uint32 {
			if uint32(p[2]) < 24 {
				return errnoInval
			}
			return errnoBadf // no fd is a directory
		}),
		wasiFunc("fd_renumber", i32x2, func(w *wasiState, m caller, p []uint64) uint32 {
			if !w.open(int32(p[0])) || int32(p[1]) < 0 {
				return errnoBadf
			}
			return errnoNotsup // the streams are pre-opened
		}),
		wasiFunc("fd_seek", []valType{valI32, valI64, valI32, valI32}, func(w *wasiState, m caller, p []uint64) uint32 {
			return seek(w, int32(p[0]))
		}),
		wasiFunc("fd_sync", i32x1, func(w *wasiState, m caller, p []uint64) uint32 { return w.lookup(int32(p[0])) }),
		wasiFunc("fd_tell", i32x2, func(w *wasiState, m caller, p []uint64) uint32 { return seek(w, int32(p[0])) }),
		wasiFunc("fd_write", i32x4, func(w *wasiState, m caller, p []uint64) uint32 {
			return writev(w, m, int32(p[0]), uint32(p[1]), uint32(p[2]), false, uint32(p[3]))
		}),
		wasiFunc("path_create_directory", i32x3, atPath),
		wasiFunc("path_filestat_get", i32x5, func(w *wasiState, m caller, p []uint64) uint32 {
			return w.atPath(m, int32(p[0]), uint32(p[2]), uint32(p[3]))
		}),
		wasiFunc("path_filestat_set_times", []valType{valI32, valI32, valI32, valI32, valI64, valI64, valI32}, func(w *wasiState, m caller, p []uint64) uint32 {
			if e := w.times(uint16(p[6])); e != 0 {
				return e
			}
			return w.atPath(m, int32(p[0]), uint32(p[2]), uint32(p[3]))
		}),
		wasiFunc("path_link", []valType{valI32, valI32, valI32, valI32, valI32, valI32, valI32}, func(w *wasiState, m caller, p []uint64) uint32 {
			return w.atPath(m, int32(p[0]), uint32(p[2]), uint32(p[3]))
		}),
		wasiFunc("path_open", []valType{valI32, valI32, valI32, valI32, valI32, valI64, valI64, valI32, valI32}, func(w *wasiState, m caller, p []uint64) uint32 {
			return w.atPath(m, int32(p[0]), uint32(p[2]), uint32(p[3]))
		}),
		wasiFunc("path_readlink", i32x6, func(w *wasiState, m caller, p []uint64) uint32 {
			if uint32(p[2]) == 0 || uint32(p[4]) == 0 {
				return errnoInval
			}
			return atPath(w, m, p)
		}),
		wasiFunc("path_remove_directory", i32x3, atPath),
		wasiFunc("path_rename", i32x6, atPath),
		wasiFunc("path_symlink", i32x5, func(w *wasiState, m caller, p []uint64) uint32 {
			if !w.open(int32(p[2])) {
				return errnoBadf
			}
			return errnoNotdir
		}),
		wasiFunc("path_unlink_file", i32x3, atPath),
		wasiFunc("poll_oneoff", i32x4, pollOneoff),
		{module: wasiModule, name: "proc_exit", params: i32x1, sys: func(env *instanceEnv, c caller, stack []uint64) {
			panic(hostTrap(&exitError{uint32(stack[0])}))
		}},
		wasiStub("proc_raise", i32x1),
		wasiFunc("sched_yield", nil, func(*wasiState, caller, []uint64) uint32 { return 0 }),
		wasiFunc("random_get", i32x2, func(w *wasiState, m caller, p []uint64) uint32 {
			b, ok := m.Read(uint32(p[0]), uint32(p[1]))
			if !ok {
				return errnoFault
			}
			if _, err := io.ReadFull(w.rand, b); err != nil {
				return errnoIo
			}
			return 0
		}),
		wasiFunc("sock_accept", i32x3, func(*wasiState, caller, []uint64) uint32 { return errnoBadf }),
		wasiFunc("sock_recv", i32x6, func(*wasiState, caller, []uint64) uint32 { return errnoBadf }),
		wasiFunc("sock_send", i32x5, func(w *wasiState, m caller, p []uint64) uint32 {
			if uint32(p[3]) != 0 {
				return errnoNotsup
			}
			return errnoBadf
		}),
		wasiFunc("sock_shutdown", i32x2, func(*wasiState, caller, []uint64) uint32 { return errnoBadf }),
	}
}

// pollOneoff answers subscriptions as wazero did: clocks sleep (advancing
// the fake clock), stdin is always ready and empty, fd writes are not
// supported.
func pollOneoff(w *wasiState, m caller, p []uint64) uint32 {
	in, out, n, result := uint32(p[0]), uint32(p[1]), uint32(p[2]), uint32(p[3])
	if n == 0 {
		return errnoInval
	}
	inBuf, ok := m.Read(in, n*48)
	if !ok {
		return errnoFault
	}
	outBuf, ok := m.Read(out, n*32)
	clear(outBuf)
	if !ok {
		return errnoFault
	}
	if !memU32(m, result, n) {
		return errnoFault
	}
	event := func(at uint32, sub []byte, errno byte) {
		b := outBuf[at*32:]
		copy(b, sub[:8])
		b[8], b[9] = errno, 0
		binary.LittleEndian.PutUint32(b[10:], uint32(sub[8]))
	}
	var blocked [][]byte
	timeout := int64(1<<63 - 1)
	events := uint32(0)
	for i := uint32(0); i < n; i++ {
		sub := inBuf[i*48:]
		arg := sub[16:]
		switch sub[8] {
		case 0: // clock
			switch binary.LittleEndian.Uint16(arg[24:]) {
			case 0:
			case 1:
				return errnoNotsup // absolute time
			default:
				return errnoInval
			}
			timeout = min(timeout, int64(binary.LittleEndian.Uint64(arg[8:])))
			event(events, sub, 0)
			events++
		case 1: // fd_read
			fd := int32(binary.LittleEndian.Uint32(arg))
			if fd < 0 {
				return errnoBadf
			}
			if !w.open(fd) {
				event(events, sub, errnoBadf)
				events++
			} else {
				blocked = append(blocked, sub)
			}
		case 2: // fd_write
			fd := int32(binary.LittleEndian.Uint32(arg))
			if fd < 0 {
				return errnoBadf
			}
			errno := byte(errnoBadf)
			if w.open(fd) {
				errno = errnoNotsup
			}
			event(events, sub, errno)
			events++
		default:
			return errnoInval
		}
	}
	if events == n {
		if timeout > 0 {
			w.clock.sleep(timeout)
		}
		return 0
	}
	if !w.open(0) {
		return errnoBadf
	}
	for _, sub := range blocked { // stdin is always ready
		event(events, sub, 0)
		events++
	}
	return 0
}
