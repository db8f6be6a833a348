// The receiving system of tests/interop_medplum.rs: @medplum/hl7's Hl7Server on loopback,
// on a port the system picks.
//
// Standard output, one JSON object per line:
//   {"event":"listening","host":...,"port":N}         once, when it accepts connections
//   {"event":"received","control_id":...,"message":...} per message, before its ACK
//   {"event":"error","error":...}                     per error a connection reports
// Every message is answered with Hl7Message.buildAck (MSA-1 AA, MSA-2 its MSH-10).
// The server stops when its standard input closes, so it never outlives the test.

import { Hl7Server } from '@medplum/hl7';

function emit(record) {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

const server = new Hl7Server((connection) => {
  connection.addEventListener('message', ({ message }) => {
    emit({
      event: 'received',
      control_id: message.getSegment('MSH')?.getField(10)?.toString() ?? '',
      message: message.toString(),
    });
    connection.send(message.buildAck({ ackCode: 'AA' }));
  });
  connection.addEventListener('error', ({ error }) => {
    emit({ event: 'error', error: String(error?.message ?? error) });
  });
});

// start() hands its port argument to net.Server.listen, which also takes {host, port}:
// that keeps the test server on loopback instead of every interface.
server.start({ host: '127.0.0.1', port: 0 });
server.server.once('listening', () => {
  const { address, port } = server.server.address();
  emit({ event: 'listening', host: address, port });
});

process.stdin.on('end', () => {
  server.stop({ forceDrainTimeoutMs: 0 }).finally(() => process.exit(0));
});
process.stdin.resume();
