// Checks a dnahost node's OpenAI-compatible endpoints with the official
// openai npm client: models, completions and chat completions, each
// without and with streaming, and the errors a client sees.
//
//   npm ci --prefix scripts/openai-client
//   BASE_URL=http://127.0.0.1:8545/v1 API_KEY=KEY [MODEL=NAME] [REPLICATION=N] node scripts/openai-client/test.mjs
//
// make openai-test runs it against an in-process node (node/api's
// TestOpenAIClient).
import assert from "node:assert/strict";
import OpenAI from "openai";

const baseURL = process.env.BASE_URL ?? "http://127.0.0.1:8545/v1";
const apiKey = process.env.API_KEY ?? "none";
// dnahost's extras: how many nodes run each job.
const extra = process.env.REPLICATION ? { replication: Number(process.env.REPLICATION) } : {};

const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 180_000 });
const hex64 = /^[0-9a-f]{64}$/;

async function check(name, fn) {
  const t0 = Date.now();
  try {
    const detail = await fn();
    console.log(`ok   ${name} (${Date.now() - t0} ms)${detail ? ": " + detail : ""}`);
  } catch (err) {
    console.log(`FAIL ${name}: ${err?.stack ?? err}`);
    process.exitCode = 1;
  }
}

let model = process.env.MODEL;

await check("models.list", async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.ok(ids.length > 0, "no models");
  model ??= ids[0];
  assert.ok(ids.includes(model), `${model} not in ${ids}`);
  return ids.join(", ");
});

await check("completions.create", async () => {
  const r = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 8, temperature: 0, seed: 1, ...extra });
  assert.match(r.id, hex64);
  assert.equal(r.object, "text_completion");
  assert.equal(r.choices.length, 1);
  assert.ok(r.choices[0].text.length > 0, "no text");
  assert.ok(["stop", "length"].includes(r.choices[0].finish_reason));
  assert.ok(r.usage.completion_tokens > 0 && r.usage.prompt_tokens > 0);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  return `job ${r.id.slice(0, 12)}: ${JSON.stringify(r.choices[0].text)}, ${r.usage.completion_tokens} tokens`;
});

await check("chat.completions.create", async () => {
  const r = await client.chat.completions.create({
    model,
    messages: [
      { role: "system", content: "You tell short stories." },
      { role: "user", content: "Tell me a story." },
    ],
    max_tokens: 8,
    temperature: 0.8,
    seed: 42,
    ...extra,
  });
  assert.match(r.id, hex64);
  assert.equal(r.object, "chat.completion");
  assert.equal(r.choices[0].message.role, "assistant");
  assert.ok(r.choices[0].message.content.length > 0, "no content");
  assert.ok(r.usage.prompt_tokens > 0);
  return `job ${r.id.slice(0, 12)}: ${JSON.stringify(r.choices[0].message.content)}`;
});

await check("completions.create stream", async () => {
  const stream = await client.completions.create({ model, prompt: "The little dog", max_tokens: 8, temperature: 0, stream: true, ...extra });
  let text = "", chunks = 0, finish = null, id = null;
  for await (const c of stream) {
    id ??= c.id;
    assert.equal(c.id, id);
    assert.equal(c.object, "text_completion");
    if (c.choices[0]?.text) { text += c.choices[0].text; chunks++; }
    if (c.choices[0]?.finish_reason) finish = c.choices[0].finish_reason;
  }
  assert.ok(text.length > 0, "no text streamed");
  assert.ok(finish, "no finish_reason");
  return `job ${id.slice(0, 12)}: ${chunks} chunks, ${JSON.stringify(text)}`;
});

await check("chat.completions.create stream", async () => {
  const stream = await client.chat.completions.create({
    model,
    messages: [{ role: "user", content: "Say something." }],
    max_tokens: 8,
    stream: true,
    stream_options: { include_usage: true },
    ...extra,
  });
  let text = "", chunks = 0, role = null, finish = null, usage = null;
  for await (const c of stream) {
    assert.equal(c.object, "chat.completion.chunk");
    if (c.usage) usage = c.usage;
    const ch = c.choices[0];
    if (!ch) continue;
    role ??= ch.delta.role ?? null;
    if (ch.delta.content) { text += ch.delta.content; chunks++; }
    if (ch.finish_reason) finish = ch.finish_reason;
  }
  assert.equal(role, "assistant");
  assert.ok(text.length > 0, "no content streamed");
  assert.ok(finish, "no finish_reason");
  assert.ok(usage && usage.completion_tokens > 0, "no usage chunk");
  return `${chunks} chunks, ${JSON.stringify(text)}, usage ${JSON.stringify(usage)}`;
});

await check("unknown model is a NotFoundError", async () => {
  await assert.rejects(client.completions.create({ model: "no-such-model", prompt: "x", max_tokens: 1 }),
    (err) => err instanceof OpenAI.NotFoundError && err.status === 404);
});

await check("a wrong key is an AuthenticationError", async () => {
  const bad = new OpenAI({ baseURL, apiKey: apiKey + "-wrong", maxRetries: 0 });
  await assert.rejects(bad.chat.completions.create({ model, messages: [{ role: "user", content: "x" }] }),
    (err) => err instanceof OpenAI.AuthenticationError && err.status === 401);
});

if (process.exitCode) console.log("openai client check FAILED");
else console.log("openai client check passed");
