// The "medplum direct" rows of benches/mllp_relay.sh: @medplum/hl7's own client against
// its own server, no Ferry in between, measured the way `ferry load send` measures.
//
//   node medplum_load.mjs server
//     An Hl7Server on 127.0.0.1, port chosen by the system, answering every message with
//     Hl7Message.buildAck (MSA-1 AA, MSA-2 its MSH-10). Prints {"event":"listening","port":N}
//     once it accepts connections; on SIGTERM or SIGINT prints {"received":N,"errors":N}
//     and exits 0.
//
//   node medplum_load.mjs send PORT CONNECTIONS SECONDS
//     CONNECTIONS Hl7Clients, each sending one ~1 KiB ADT^A01 at a time with sendAndWait
//     and the next once its ACK is in, for SECONDS. Prints one JSON object on the last line
//     of stdout with the keys of `ferry load send --json` that the bench reads: sent,
//     msgs_per_s, p50_ms, p99_ms, p999_ms, max_ms, errors, connections, seconds.
//
// The measurement follows the load tool's rules, so that the two rows compare: the clock
// starts once every connection is open; a message counts as sent only when its ACK has
// MSA-1 AA or CA and MSA-2 = the MSH-10 sent; latency runs from the send to the ACK;
// percentiles are nearest-rank; in-flight messages finish when the time is up.
//
// @medplum/hl7 lives in tests/peers/node/node_modules (installed there by `npm ci`), which
// ESM resolution from this folder would not find, so it is loaded with a require rooted
// there. FERRY_NODE_PEERS overrides that folder.

import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const peers = process.env.FERRY_NODE_PEERS
  ?? fileURLToPath(new URL('../../tests/peers/node/', import.meta.url));
const require = createRequire(resolve(peers, 'package.json'));
const { Hl7Client, Hl7Server } = require('@medplum/hl7');
const { Hl7Message } = require('@medplum/core');

// One ACK may take this long before the message counts as failed and the connection is
// opened again: far above any healthy loopback answer.
const ACK_TIMEOUT_MS = 30_000;

function emit(record) {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

function fail(text) {
  process.stderr.write(`medplum_load: ${text}\n`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------
// Messages

const PAD_SEGMENT = 'NTE|1|L|Synthetic load message: no real patient, generated for a benchmark.';
const TARGET_BYTES = 1024;

// An HL7 v2.5.1 ADT^A01 of about 1 KiB whose MSH-10 names the run, connection and sequence.
function admission(run, connection, sequence) {
  const id = `MP${run}-${connection}-${sequence}`;
  const mrn = String(100000 + ((connection * 7919 + sequence) % 900000));
  const segments = [
    `MSH|^~\\&|BENCH|LOAD|FERRY|HUB|20250101120000||ADT^A01^ADT_A01|${id}|P|2.5.1`,
    'EVN|A01|20250101120000',
    `PID|1||${mrn}^^^HOSP^MR||DOE^JANE^Q||19800101|F|||1 MAIN ST^^TOWN^ST^12345||555-0100`,
    'NK1|1|DOE^JOHN|SPO^Spouse^HL70063|1 MAIN ST^^TOWN^ST^12345|555-0101',
    'PV1|1|I|WARD^101^A||||1234^SMITH^ANNA|||MED||||||||V0001',
    'AL1|1|DA|PCN^Penicillin^L|MO|Rash',
    'DG1|1||J18.9^Pneumonia, unspecified organism^I10||20250101|A',
  ];
  let text = segments.join('\r');
  while (text.length + 1 + PAD_SEGMENT.length <= TARGET_BYTES) {
    text += `\r${PAD_SEGMENT}`;
  }
  return { id, message: Hl7Message.parse(text) };
}

// ---------------------------------------------------------------------------------------
// Server

function serve() {
  let received = 0;
  let errors = 0;

  const server = new Hl7Server((connection) => {
    connection.addEventListener('message', ({ message }) => {
      received += 1;
      connection.send(message.buildAck({ ackCode: 'AA' }));
    });
    connection.addEventListener('error', () => {
      errors += 1;
    });
  });

  // start() passes its argument to net.Server.listen, which also takes {host, port}: that
  // keeps the server on loopback.
  server.start({ host: '127.0.0.1', port: 0 });
  server.server.once('listening', () => {
    emit({ event: 'listening', port: server.server.address().port });
  });

  const stop = () => {
    emit({ received, errors });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// ---------------------------------------------------------------------------------------
// Sender

function percentile(sorted, perMille) {
  if (sorted.length === 0) {
    return null;
  }
  const rank = Math.max(1, Math.ceil((perMille * sorted.length) / 1000));
  return Math.round(sorted[rank - 1]) / 1000;
}

// sendAndWait's own timeoutMs timer is never cleared once the ACK arrives (4.5.2), so a
// run of 100,000 messages would leave 100,000 live timers behind: a timer of our own,
// cleared at once, bounds the wait instead.
function withTimeout(promise, ms) {
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ACK within ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

function accepted(ack, id) {
  const msa = ack.getSegment('MSA');
  const code = msa?.getField(1)?.toString() ?? '';
  return (code === 'AA' || code === 'CA') && msa?.getField(2)?.toString() === id;
}

async function connect(port) {
  const client = new Hl7Client({ host: '127.0.0.1', port, connectTimeout: ACK_TIMEOUT_MS });
  // An error event without a listener would end the process; failures are counted where
  // sendAndWait rejects.
  client.addEventListener('error', () => {});
  await client.connect();
  return client;
}

async function send(port, connections, seconds) {
  const run = Date.now().toString(36).slice(-6).toUpperCase();
  const latencies = [];
  let sent = 0;
  let errors = 0;

  let clients;
  try {
    clients = await Promise.all(Array.from({ length: connections }, () => connect(port)));
  } catch (error) {
    fail(`cannot connect to 127.0.0.1:${port}: ${error?.message ?? error}`);
  }

  const started = process.hrtime.bigint();
  const deadline = started + BigInt(Math.round(seconds * 1e9));

  const worker = async (index) => {
    let client = clients[index];
    for (let sequence = 1; process.hrtime.bigint() < deadline; sequence += 1) {
      const { id, message } = admission(run, index, sequence);
      const before = process.hrtime.bigint();
      try {
        const ack = await withTimeout(client.sendAndWait(message), ACK_TIMEOUT_MS);
        if (accepted(ack, id)) {
          sent += 1;
          latencies.push(Number(process.hrtime.bigint() - before) / 1000);
        } else {
          errors += 1;
        }
      } catch {
        // A late ACK on the old connection would be taken for the next message's.
        errors += 1;
        await client.close().catch(() => {});
        client = await connect(port).catch(() => client);
      }
    }
    clients[index] = client;
  };
  await Promise.all(clients.map((_, index) => worker(index)));
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;

  await Promise.all(clients.map((client) => client.close().catch(() => {})));
  latencies.sort((a, b) => a - b);
  emit({
    sent,
    msgs_per_s: Math.round((sent / elapsed) * 10) / 10,
    p50_ms: percentile(latencies, 500),
    p99_ms: percentile(latencies, 990),
    p999_ms: percentile(latencies, 999),
    max_ms: percentile(latencies, 1000),
    errors,
    connections,
    seconds: Math.round(elapsed * 1000) / 1000,
    run,
    to: `127.0.0.1:${port}`,
  });
  process.exit(errors === 0 ? 0 : 1);
}

// ---------------------------------------------------------------------------------------

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'server') {
  serve();
} else if (mode === 'send') {
  const [port, connections, seconds] = rest.map(Number);
  if (!(port > 0 && connections >= 1 && seconds > 0)) {
    fail('usage: medplum_load.mjs send PORT CONNECTIONS SECONDS');
  }
  await send(port, connections, seconds);
} else {
  fail('usage: medplum_load.mjs server | send PORT CONNECTIONS SECONDS');
}
