//! Test messages, written out from the field cases' notation.

/// `M(n)` of field-cases.md: an ADT^A01 with MSH-10 `MSG<n>` and PID-3.1 `TEST<n>`.
pub fn m(n: u32) -> Vec<u8> {
    format!(
        "MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A01^ADT_A01|MSG{n:04}|P|2.5.1\r\
         PID|1||TEST{n:04}^^^TESTHOSP^MR||TEST^PATIENT\r"
    )
    .into_bytes()
}

/// A message of type `kind` (e.g. `ORU^R01`) with control id `id`.
pub fn typed(kind: &str, id: &str) -> Vec<u8> {
    format!(
        "MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||{kind}|{id}|P|2.5.1\r\
         PID|1||{id}^^^TESTHOSP^MR||TEST^PATIENT\r"
    )
    .into_bytes()
}

/// Splits HL7 file bytes into messages independently of Ferry's splitter, for checking
/// it: BOM dropped; if the bytes hold any CR only CR (optionally followed by LF) ends a
/// segment, else LF does; batch envelope segments dropped; each message's segments
/// joined with CR and ended with CR.
pub fn expected_messages(bytes: &[u8]) -> Vec<Vec<u8>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let segments: Vec<&[u8]> = if bytes.contains(&b'\r') {
        bytes
            .split(|b| *b == b'\r')
            .map(|s| s.strip_prefix(b"\n").unwrap_or(s))
            .collect()
    } else {
        bytes.split(|b| *b == b'\n').collect()
    };

    let mut messages: Vec<Vec<u8>> = Vec::new();
    for segment in segments {
        if segment.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        if ["FHS", "BHS", "BTS", "FTS"]
            .iter()
            .any(|id| segment.starts_with(id.as_bytes()))
        {
            continue;
        }
        if segment.starts_with(b"MSH") || messages.is_empty() {
            messages.push(Vec::new());
        }
        let message = messages.last_mut().unwrap();
        message.extend_from_slice(segment);
        message.push(b'\r');
    }
    messages
}

/// MSH-9.1 and MSH-10 of a message, read naively (field separator at byte 3).
pub fn type_and_id(message: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(message);
    let separator = text.chars().nth(3).unwrap_or('|');
    let msh = text.split('\r').next().unwrap_or("");
    let fields: Vec<&str> = msh.split(separator).collect();
    let components: Vec<&str> = fields
        .get(8)
        .map(|f| f.split(['^', '~']).collect())
        .unwrap_or_default();
    (
        components.first().unwrap_or(&"").to_string(),
        fields.get(9).unwrap_or(&"").to_string(),
    )
}
