package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
)

// sseWriter writes a server-sent event stream, flushing every event.
type sseWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	buf bytes.Buffer
	err error
}

// startSSE sends the stream's headers. It lifts the server's deadlines:
// a stream lasts as long as its job.
func startSSE(w http.ResponseWriter, extra http.Header) *sseWriter {
	h := w.Header()
	for k, v := range extra {
		h[k] = v
	}
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	clearDeadlines(w)
	w.WriteHeader(http.StatusOK)
	s := &sseWriter{w: w, rc: http.NewResponseController(w)}
	s.flush()
	return s
}

func (s *sseWriter) flush() error {
	if s.err != nil {
		return s.err
	}
	if s.buf.Len() > 0 {
		if _, err := s.w.Write(s.buf.Bytes()); err != nil {
			s.err = err
			return err
		}
		s.buf.Reset()
	}
	if err := s.rc.Flush(); err != nil {
		s.err = err
	}
	return s.err
}

// event sends a named event (id may be empty) with v as its JSON data.
func (s *sseWriter) event(name, id string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if name != "" {
		s.buf.WriteString("event: " + name + "\n")
	}
	if id != "" {
		s.buf.WriteString("id: " + id + "\n")
	}
	s.buf.WriteString("data: ")
	s.buf.Write(b)
	s.buf.WriteString("\n\n")
	return s.flush()
}

// data sends an unnamed event, as OpenAI streams do.
func (s *sseWriter) data(v any) error { return s.event("", "", v) }

// done ends an OpenAI stream.
func (s *sseWriter) done() error {
	s.buf.WriteString("data: [DONE]\n\n")
	return s.flush()
}

// comment sends a comment line, which clients ignore: a heartbeat.
func (s *sseWriter) comment(text string) error {
	s.buf.WriteString(": " + strings.ReplaceAll(text, "\n", " ") + "\n\n")
	return s.flush()
}
