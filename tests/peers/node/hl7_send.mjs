// The sending system of tests/interop_medplum.rs: @medplum/hl7's Hl7Client.
//
//   node hl7_send.mjs PORT MESSAGES.json
//
// MESSAGES.json is an array of message texts. Each is parsed with Hl7Message.parse and
// sent with sendAndWait over one connection to 127.0.0.1:PORT; the next goes once its ACK
// is in. Standard output, one JSON object per line:
//   {"index","control_id","sent","msa1","msa2","ack"}   per message (sent: the text the
//                                                       client framed)
//   {"done":N}                                          at the end, then exit status 0
// A message without an ACK in time or a failed connection prints {"index","error"} and
// ends the run with exit status 1.

import { readFileSync } from 'node:fs';
import { Hl7Message } from '@medplum/core';
import { Hl7Client } from '@medplum/hl7';

// How long one ACK may take. Ferry answers once the message is durable, in milliseconds.
const ACK_TIMEOUT_MS = 30_000;

function emit(record) {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

function describe(error) {
  const outcome = error?.outcome ? ` ${JSON.stringify(error.outcome)}` : '';
  return `${error?.message ?? error}${outcome}`;
}

const [port, file] = process.argv.slice(2);
const texts = JSON.parse(readFileSync(file, 'utf8'));
const client = new Hl7Client({ host: '127.0.0.1', port: Number(port) });

for (const [index, text] of texts.entries()) {
  const message = Hl7Message.parse(text);
  let ack;
  try {
    ack = await client.sendAndWait(message, { timeoutMs: ACK_TIMEOUT_MS });
  } catch (error) {
    emit({ index, error: describe(error) });
    await client.close();
    process.exit(1);
  }
  const msa = ack.getSegment('MSA');
  emit({
    index,
    control_id: message.getSegment('MSH').getField(10).toString(),
    sent: message.toString(),
    msa1: msa?.getField(1)?.toString() ?? '',
    msa2: msa?.getField(2)?.toString() ?? '',
    ack: ack.toString(),
  });
}

await client.close();
emit({ done: texts.length });
// sendAndWait (4.5.2) leaves its timeoutMs timer running after the ACK has settled the
// promise; without an explicit exit those timers keep node alive for ACK_TIMEOUT_MS.
process.exit(0);
