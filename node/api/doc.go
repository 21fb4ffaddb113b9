// Package api is the HTTP interface of a dnahost node: a JSON API for jobs,
// bundles, peers and the chain, server-sent event streams of a job's life,
// and OpenAI-compatible completion endpoints. New returns the handler; the
// node's operations endpoints (/metrics, /healthz, /readyz and the
// dashboard at /) are registered on the same mux.
//
// # Endpoints
//
// Jobs:
//
//	POST /api/jobs              submit a job paid from the node's account (API key) → 202 + record
//	POST /api/jobs/signed       submit a client-signed job and its escrow: {"job": b64, "escrow": b64} → 202
//	GET  /api/jobs?limit=N      recent jobs, newest first, and counts by stage
//	GET  /api/jobs/{id}         a job's full record
//	GET  /api/jobs/{id}/events  server-sent events: the history so far, then live updates
//
// POST /api/jobs takes {"model" or "bundle", "prompt", "max_tokens",
// "temperature", "top_k", "seed", "replication", "reward", "min_stake",
// "deadline_s", "verify" ("rastic" or "full"), "samples", "private"};
// model is a bundle's manifest name (or root), bundle its hex root, and
// every other field but prompt may be left out for the node's defaults.
//
// The event stream of GET /api/jobs/{id}/events has four event types, each
// with a JSON data line:
//
//	stage    every history entry: {"job", "stage" (the job's stage after it), "event": {"time", "stage", "what", "height"}}
//	token    a token this node generated for the job: {"job", "index", "token"}
//	decided  after the decided entry: {"job", "result", "text", "tokens", "agree"}
//	final    the full record once the job is settled, disputed or expired; the stream ends
//
// Stage events carry "id: N" (the entry's index in the history), so a
// client that reconnects with Last-Event-ID resumes after entry N. A
// comment line (": ping") is sent every Config.Heartbeat.
//
// Bundles, network and chain:
//
//	GET  /api/bundles           bundles held or announced by peers
//	POST /api/bundles           publish a .dna container (the request body; API key) → 201 + info
//	GET  /api/peers             connected peers (netq status)
//	GET  /api/chain?blocks=N    tip, supply, job counts, the last N blocks with their transaction counts
//	GET  /api/blocks/{ref}      a best-chain block by height, or any stored block by hash
//	GET  /api/node              the node: ID, address, balance, configuration, uptime
//
// OpenAI-compatible:
//
//	GET  /v1/models             bundles by name
//	GET  /v1/models/{model}     one of them
//	POST /v1/completions        {"model", "prompt", ...} (API key)
//	POST /v1/chat/completions   {"model", "messages", ...} (API key)
//
// The completion endpoints take model (a bundle's manifest name or hex
// root), prompt (a string, or an array of one string) or messages,
// max_tokens (or max_completion_tokens), temperature (default 1, as
// OpenAI's), seed (default: a random one when temperature is above 0, else
// 0), stream and stream_options.include_usage, and the extras top_k and
// replication. top_p, stop, logprobs, user and other OpenAI fields are
// accepted and ignored; n above 1 is refused. Each request submits a job
// paid from the node's account and waits until the job is decided, fails,
// or Config.DecideTimeout passes (504; the job goes on, and its ID is in
// the message). The response's id is the job ID, its text the decided
// result, and usage counts the prompt's tokens and the result's.
//
// With "stream": true the response is a server-sent event stream in
// OpenAI's chunk format ("data: {chunk}" lines ending with "data:
// [DONE]"). When this node is one of the job's compute nodes, tokens are
// sent as it generates them; the rest of the decided text (all of it when
// the node does not compute the job) is sent once the job is decided. If
// the decided result is not what this node streamed, the stream ends with
// an error chunk. Comment lines keep the connection alive while the job
// waits for a block or for other nodes.
//
// Chat messages are rendered into one plain prompt, a line per message
// and an open assistant turn:
//
//	System: {content}
//	User: {content}
//	Assistant: {content}
//	Assistant:
//
// Roles are system (developer is shown as System), user, assistant and
// tool; content is a string or an array of text parts (joined by
// newlines). The reply's leading white space is dropped. The model sees
// exactly this text; a base model may go on to write further turns, which
// are not cut off.
//
// # Authorization
//
// Endpoints that spend the node's funds or change what it holds — POST
// /api/jobs, POST /api/bundles, POST /v1/completions and POST
// /v1/chat/completions — need "Authorization: Bearer KEY" with one of
// Config.APIKeys. When no API keys are configured those endpoints are
// served only to clients connecting from a loopback address without
// proxy headers (Forwarded, X-Forwarded-For, X-Real-IP); behind a reverse
// proxy, configure API keys. POST /api/jobs/signed needs no key: the
// client signs and pays. Everything else is read-only and open.
//
// # Errors
//
// Errors are JSON, {"error": {"message": "...", "type": "...", "code":
// "..."}}, with the status code saying what went wrong: 400 bad input, 401
// a missing or wrong API key, 402 the node's account cannot pay, 403 a
// spending endpoint without configured keys from a non-loopback client,
// 404 an unknown job, bundle, block or model, 411/413 a body without a
// length or over the limit, 429 too many pending transactions, 502 a job
// the network failed to decide, 504 a job not decided in time. Errors of
// requests that submitted a job carry "x-should-retry: false", so OpenAI
// clients do not pay for the job again by retrying.
package api
