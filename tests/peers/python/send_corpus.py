"""Sends HL7 v2 messages to an MLLP listener with python-hl7's asyncio MLLP client.

    send_corpus.py --port PORT --messages DIR

DIR holds one message per file; sorted by name, the files give the sending order. All
messages go over one connection opened with hl7.mllp.open_hl7_connection, as a feed
would: each is parsed with hl7.parse, written with HL7StreamWriter.writemessage in the
character set its MSH-18 names, and its ACK is read with HL7StreamReader.readmessage
before the next one is written.

Standard output gets one JSON object per message:
    index, file, msh10 (as python-hl7 reads it), charset, sent (the hex of the bytes
    writemessage framed: str(message) in that character set), msa1, msa2, ack (the ACK
    as python-hl7 prints it)
and a last line {"done": N}. A missing ACK, a broken connection or an ACK python-hl7
cannot read ends the run with an {"index", "error"} line and exit status 1; a message
whose MSH-18 names a character set this script does not map, with status 2.
"""

import argparse
import asyncio
import json
import sys
from pathlib import Path

import hl7
import hl7.mllp

# How long one ACK may take. Ferry answers once the message is durable, in milliseconds.
ACK_TIMEOUT_SECONDS = 30

# MSH-18 values found in the corpus, as Python codec names; an empty MSH-18 means the
# receiver's default, UTF-8 for Ferry.
CHARSETS = {
    "": "utf-8",
    "UNICODE UTF-8": "utf-8",
    "8859/1": "latin-1",
    "ASCII": "ascii",
}


def emit(record):
    print(json.dumps(record, ensure_ascii=True), flush=True)


def field(segment, number):
    """A field of a python-hl7 segment as text; empty when the segment is shorter."""
    return str(segment[number]) if len(segment) > number else ""


def declared_charset(raw):
    """The first repetition of MSH-18, read from the bytes before any decoding."""
    header = raw.split(b"\r", 1)[0].decode("latin-1")
    fields = header.split(header[3])
    msh18 = fields[17] if len(fields) > 17 else ""
    repetition = fields[1][1:2] if len(fields) > 1 else ""
    return msh18.split(repetition)[0].strip() if repetition else msh18.strip()


async def exchange(reader, writer, index, path):
    raw = path.read_bytes()
    msh18 = declared_charset(raw)
    charset = CHARSETS.get(msh18)
    if charset is None:
        emit({"index": index, "file": path.name, "error": f"unmapped MSH-18 {msh18!r}"})
        sys.exit(2)

    message = hl7.parse(raw.decode(charset))
    writer.encoding = charset
    reader.encoding = charset
    writer.writemessage(message)
    await writer.drain()

    try:
        ack = await asyncio.wait_for(reader.readmessage(), ACK_TIMEOUT_SECONDS)
    except asyncio.TimeoutError:
        return {"error": f"no ACK within {ACK_TIMEOUT_SECONDS} s"}
    except asyncio.IncompleteReadError as error:
        return {"error": f"connection ended before the ACK; partial: {error.partial!r}"}
    except (hl7.mllp.InvalidBlockError, ValueError, ConnectionError) as error:
        return {"error": f"{type(error).__name__}: {error}"}

    try:
        msa = ack.segment("MSA")
    except KeyError:
        return {"error": f"an ACK without MSA: {str(ack)!r}"}
    return {
        "msh10": field(message.segment("MSH"), 10),
        "charset": charset,
        "sent": str(message).encode(charset).hex(),
        "msa1": field(msa, 1),
        "msa2": field(msa, 2),
        "ack": str(ack),
    }


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--messages", type=Path, required=True)
    options = parser.parse_args()

    files = sorted(path for path in options.messages.iterdir() if path.is_file())
    reader, writer = await hl7.mllp.open_hl7_connection(options.host, options.port)
    for index, path in enumerate(files):
        record = {"index": index, "file": path.name}
        record.update(await exchange(reader, writer, index, path))
        emit(record)
        if "error" in record:
            sys.exit(1)

    writer.close()
    await writer.wait_closed()
    emit({"done": len(files)})


if __name__ == "__main__":
    asyncio.run(main())
