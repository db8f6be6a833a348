//! Acknowledgements Ferry sends: the codes, what the sender asked for, and the ACK itself.
//!
//! [`build_ack`] answers one inbound message (field cases B21, B23; v2.5 Ch.2 §2.9.2,
//! §2.15.8, §2.15.9). It never fails and never panics: when the inbound header could not be
//! read it still builds a NAK with the standard delimiters, because a sender that gets no
//! reply resends forever. What holds for every ACK it returns:
//! - the delimiters are the inbound message's (its truncation character included), or
//!   `|^~\&` without a header;
//! - MSH-3/4 are the inbound MSH-5/6 (or the local application/facility the options name),
//!   MSH-5/6 the inbound MSH-3/4, copied as sent so that their components stay;
//! - MSH-9 is `ACK^<trigger>^ACK` from v2.3.1 on, `ACK^<trigger>` before (those versions
//!   have no message structure component), `ACK` when the trigger is unknown; the inbound
//!   structure is never copied;
//! - MSH-11 and MSH-12 are echoed (`P` and `2.5.1` when absent), MSH-18 too when present,
//!   and MSH-13 to MSH-17 stay empty: an ACK asks for no acknowledgement of its own;
//! - MSA-2 is the inbound MSH-10 as sent, empty when unreadable;
//! - every value is escaped with the message's delimiters and every segment ends with CR
//!   (see [`crate::write`]), so a reason text cannot break the reply.
//!
//! [`RequestedAcks`] reads MSH-15/16 (table 0155) to tell original mode from enhanced mode;
//! which code to send is the caller's decision.

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::charset::encoding_for_msh18;
use crate::escaping::unescape;
use crate::path::FieldPath;
use crate::reply::AckReadError;
use crate::scan::{Delimiters, MshHeader};
use crate::write::MessageWriter;

/// An acknowledgment code, HL7 table 0008 (MSA-1).
///
/// `A*` codes answer in original mode or as the application acknowledgement of enhanced
/// mode; `C*` codes are enhanced mode's commit (accept) acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AckCode {
    /// Application accept: processed.
    AA,
    /// Application error: looked at and found fault; resending it unchanged will not help.
    AE,
    /// Application reject: refused without processing (bad header, unsupported type,
    /// duplicate, receiver unavailable).
    AR,
    /// Commit accept: safely stored by the receiver.
    CA,
    /// Commit error: the receiver could not take it (e.g. a header fault).
    CE,
    /// Commit reject: refused before storing (unsupported type, version, processing id).
    CR,
}

impl AckCode {
    /// The two letters written in MSA-1.
    pub fn as_str(self) -> &'static str {
        match self {
            AckCode::AA => "AA",
            AckCode::AE => "AE",
            AckCode::AR => "AR",
            AckCode::CA => "CA",
            AckCode::CE => "CE",
            AckCode::CR => "CR",
        }
    }

    /// The code for these two letters, exactly as table 0008 writes them (upper case).
    pub fn parse(text: &str) -> Option<AckCode> {
        let code = match text {
            "AA" => AckCode::AA,
            "AE" => AckCode::AE,
            "AR" => AckCode::AR,
            "CA" => AckCode::CA,
            "CE" => AckCode::CE,
            "CR" => AckCode::CR,
            _ => return None,
        };
        Some(code)
    }

    /// Whether this is an enhanced-mode commit code (`CA`, `CE`, `CR`).
    pub fn is_enhanced(self) -> bool {
        matches!(self, AckCode::CA | AckCode::CE | AckCode::CR)
    }

    /// Whether the message was accepted (`AA`, `CA`).
    pub fn is_accept(self) -> bool {
        matches!(self, AckCode::AA | AckCode::CA)
    }

    /// Whether the message was rejected (`AR`, `CR`).
    pub fn is_reject(self) -> bool {
        matches!(self, AckCode::AR | AckCode::CR)
    }

    /// Whether the message was found in error (`AE`, `CE`).
    pub fn is_error(self) -> bool {
        matches!(self, AckCode::AE | AckCode::CE)
    }
}

impl fmt::Display for AckCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AckCode {
    type Err = AckReadError;

    /// As [`AckCode::parse`].
    fn from_str(text: &str) -> Result<AckCode, AckReadError> {
        AckCode::parse(text).ok_or_else(|| AckReadError::BadCode {
            found: text.to_owned(),
        })
    }
}

/// When the sender wants an acknowledgement: HL7 table 0155, the values of MSH-15 (accept)
/// and MSH-16 (application).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AckCondition {
    /// `AL`: always.
    Always,
    /// `NE`: never.
    Never,
    /// `ER`: only when the message could not be processed.
    Error,
    /// `SU`: only when it was processed successfully.
    Success,
}

impl AckCondition {
    /// The condition for a table 0155 value; spaces around it are ignored, since senders pad
    /// fixed-width fields.
    pub fn parse(text: &str) -> Option<AckCondition> {
        let condition = match text.trim() {
            "AL" => AckCondition::Always,
            "NE" => AckCondition::Never,
            "ER" => AckCondition::Error,
            "SU" => AckCondition::Success,
            _ => return None,
        };
        Some(condition)
    }

    /// The two letters written in MSH-15/16.
    pub fn as_str(self) -> &'static str {
        match self {
            AckCondition::Always => "AL",
            AckCondition::Never => "NE",
            AckCondition::Error => "ER",
            AckCondition::Success => "SU",
        }
    }

    /// Whether an acknowledgement is wanted for an outcome: `positive` is true for an
    /// accept (AA, CA), false for an error or reject.
    pub fn wants(self, positive: bool) -> bool {
        match self {
            AckCondition::Always => true,
            AckCondition::Never => false,
            AckCondition::Error => !positive,
            AckCondition::Success => positive,
        }
    }
}

/// What the sender asked for in MSH-15 and MSH-16; both `None` means original mode
/// (v2.5 Ch.2 §2.9.2), either present means enhanced mode (§2.9.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestedAcks {
    /// MSH-15, the accept (commit) acknowledgement.
    pub accept: Option<AckCondition>,
    /// MSH-16, the application acknowledgement.
    pub application: Option<AckCondition>,
}

impl RequestedAcks {
    /// Reads MSH-15 and MSH-16. An empty field, or a value not in table 0155, counts as not
    /// stated: a sender that writes nothing usable there expects the original mode.
    pub fn from_header(header: &MshHeader) -> RequestedAcks {
        RequestedAcks {
            accept: AckCondition::parse(&header.accept_ack_type()),
            application: AckCondition::parse(&header.application_ack_type()),
        }
    }

    /// Whether the sender asked for enhanced mode (MSH-15 or MSH-16 stated).
    pub fn is_enhanced(&self) -> bool {
        self.accept.is_some() || self.application.is_some()
    }
}

/// How serious an error in an ERR segment is: HL7 table 0516, ERR-4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Severity {
    /// `E`: the message was not processed as sent.
    #[default]
    Error,
    /// `W`: processed, with a problem worth telling.
    Warning,
    /// `I`: for information only.
    Information,
}

impl Severity {
    /// The letter written in ERR-4.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "E",
            Severity::Warning => "W",
            Severity::Information => "I",
        }
    }
}

/// Where an error lies: ERR-2 (ERL, v2.5), written `MSH^1^10`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ErrorLocation {
    /// Segment id (`MSH`, `PID`).
    pub segment: String,
    /// Which occurrence of the segment, 1-based.
    pub occurrence: u32,
    /// Field number, 1-based.
    pub field: u32,
    /// Field repetition, 1-based, when the error is in one repetition.
    pub repetition: Option<u32>,
    /// Component, 1-based, when the error is in one component.
    pub component: Option<u32>,
    /// Subcomponent, 1-based, when the error is in one subcomponent.
    pub subcomponent: Option<u32>,
}

impl ErrorLocation {
    /// A whole field: `ErrorLocation::new("MSH", 1, 10)` is `MSH^1^10`.
    pub fn new(segment: &str, occurrence: u32, field: u32) -> ErrorLocation {
        ErrorLocation {
            segment: segment.to_owned(),
            occurrence,
            field,
            ..ErrorLocation::default()
        }
    }

    /// The ERL components as text: segment, occurrence, field, then repetition, component
    /// and subcomponent as far as one is known. A component without a repetition names the
    /// first repetition, since ERL-4 must be valued when ERL-5 is.
    pub fn components(&self) -> Vec<String> {
        let mut components = vec![
            self.segment.clone(),
            self.occurrence.to_string(),
            self.field.to_string(),
        ];
        let deeper = [self.repetition, self.component, self.subcomponent];
        let Some(deepest) = deeper.iter().rposition(Option::is_some) else {
            return components;
        };
        for part in deeper.iter().take(deepest + 1) {
            components.push(part.unwrap_or(1).to_string());
        }
        components
    }
}

impl From<&FieldPath> for ErrorLocation {
    fn from(path: &FieldPath) -> ErrorLocation {
        ErrorLocation {
            segment: path.segment_id().to_owned(),
            occurrence: path.occurrence,
            field: path.field,
            repetition: path.repetition,
            component: path.component,
            subcomponent: path.subcomponent,
        }
    }
}

impl fmt::Display for ErrorLocation {
    /// Writes the ERL with `^` between components: `MSH^1^10`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.components().join("^"))
    }
}

/// The content of the ERR segment of a NAK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckError {
    /// HL7 table 0357 code (ERR-3.1): 100 segment sequence error, 101 required field
    /// missing, 102 data type error, 103 table value not found, 200 unsupported message
    /// type, 207 application internal error, ...
    pub code: u16,
    /// Text for the code (ERR-3.2).
    pub text: String,
    /// Where the error lies (ERR-2), when it is one place.
    pub location: Option<ErrorLocation>,
    /// ERR-4.
    pub severity: Severity,
}

impl AckError {
    /// Table 0357: segment sequence error (e.g. no MSH at the start).
    pub const SEGMENT_SEQUENCE_ERROR: u16 = 100;
    /// Table 0357: required field missing.
    pub const REQUIRED_FIELD_MISSING: u16 = 101;
    /// Table 0357: data type error.
    pub const DATA_TYPE_ERROR: u16 = 102;
    /// Table 0357: table value not found.
    pub const TABLE_VALUE_NOT_FOUND: u16 = 103;
    /// Table 0357: unsupported message type.
    pub const UNSUPPORTED_MESSAGE_TYPE: u16 = 200;
    /// Table 0357: unsupported event code.
    pub const UNSUPPORTED_EVENT_CODE: u16 = 201;
    /// Table 0357: unsupported processing id.
    pub const UNSUPPORTED_PROCESSING_ID: u16 = 202;
    /// Table 0357: unsupported version id.
    pub const UNSUPPORTED_VERSION_ID: u16 = 203;
    /// Table 0357: unknown key identifier.
    pub const UNKNOWN_KEY_IDENTIFIER: u16 = 204;
    /// Table 0357: duplicate key identifier.
    pub const DUPLICATE_KEY_IDENTIFIER: u16 = 205;
    /// Table 0357: application record locked.
    pub const APPLICATION_RECORD_LOCKED: u16 = 206;
    /// Table 0357: application internal error.
    pub const APPLICATION_INTERNAL_ERROR: u16 = 207;

    /// An error with severity `E` and no location.
    pub fn new(code: u16, text: impl Into<String>) -> AckError {
        AckError {
            code,
            text: text.into(),
            location: None,
            severity: Severity::Error,
        }
    }

    /// An error with the table's own text for `code` (empty for a code outside the table),
    /// severity `E`, no location.
    pub fn standard(code: u16) -> AckError {
        AckError::new(code, table_0357_text(code).unwrap_or_default())
    }

    /// The same error, located.
    pub fn at(mut self, location: ErrorLocation) -> AckError {
        self.location = Some(location);
        self
    }

    /// The same error with another severity.
    pub fn with_severity(mut self, severity: Severity) -> AckError {
        self.severity = severity;
        self
    }
}

/// The text HL7 table 0357 gives for a message error condition code.
pub fn table_0357_text(code: u16) -> Option<&'static str> {
    let text = match code {
        0 => "Message accepted",
        100 => "Segment sequence error",
        101 => "Required field missing",
        102 => "Data type error",
        103 => "Table value not found",
        200 => "Unsupported message type",
        201 => "Unsupported event code",
        202 => "Unsupported processing id",
        203 => "Unsupported version id",
        204 => "Unknown key identifier",
        205 => "Duplicate key identifier",
        206 => "Application record locked",
        207 => "Application internal error",
        _ => return None,
    };
    Some(text)
}

/// The first header field Ferry cannot do without, when it is empty: MSH-9 (the message
/// type, needed to route and to name the ACK's trigger) or MSH-10 (the control id the ACK
/// echoes in MSA-2), as a located table 0357 code 101 (field case B23, input 3).
pub fn missing_header_field(header: &MshHeader) -> Option<AckError> {
    let missing = if header.message_type().trim().is_empty() {
        9
    } else if header.control_id().trim().is_empty() {
        10
    } else {
        return None;
    };
    let location = ErrorLocation::new("MSH", 1, missing);
    Some(AckError::standard(AckError::REQUIRED_FIELD_MISSING).at(location))
}

/// What an ACK says about itself rather than about the inbound message.
#[derive(Debug, Clone, Copy)]
pub struct AckOptions<'a> {
    /// The ACK's own MSH-10, unique per ACK.
    pub control_id: &'a str,
    /// MSH-7, an HL7 TS already formatted (see [`hl7_timestamp`]).
    pub timestamp: &'a str,
    /// MSH-3 of the ACK; `None` echoes the inbound MSH-5.
    pub local_application: Option<&'a str>,
    /// MSH-4 of the ACK; `None` echoes the inbound MSH-6.
    pub local_facility: Option<&'a str>,
}

/// The version written in MSH-12 when the inbound message has none (or none was read).
const DEFAULT_VERSION: &str = "2.5.1";
/// The processing id written in MSH-11 when the inbound message has none.
const DEFAULT_PROCESSING_ID: &str = "P";
/// The first version whose MSH-9 has a message structure component (v2.3.1 §2.16.9.3).
const FIRST_VERSION_WITH_STRUCTURE: [u32; 3] = [2, 3, 1];

/// Builds the acknowledgement of one message (see the module docs for the fields).
///
/// `original` is the inbound message's scanned header, `None` when it could not be read;
/// `text` goes into MSA-3 and `error` into an ERR segment. Never fails: every value is
/// escaped, so any text is safe to pass.
pub fn build_ack(
    original: Option<&MshHeader>,
    code: AckCode,
    text: Option<&str>,
    error: Option<&AckError>,
    options: &AckOptions<'_>,
) -> Vec<u8> {
    let delimiters = original.map_or_else(Delimiters::default, |header| header.delimiters);
    let encoding = original
        .and_then(declared_encoding)
        .unwrap_or(encoding_rs::UTF_8);
    let mut writer = MessageWriter::new(delimiters).with_encoding(encoding);

    write_msh(&mut writer, original, options);

    let inbound_control_id = original.and_then(|header| header.field(10));
    writer
        .segment("MSA")
        .field(code.as_str())
        .raw_field(inbound_control_id.unwrap_or_default())
        .field(text.unwrap_or_default());

    if let Some(error) = error {
        let location = error.location.as_ref().map(ErrorLocation::components);
        let location: Vec<&str> = location.iter().flatten().map(String::as_str).collect();
        let code = error.code.to_string();
        writer
            .segment("ERR")
            .field("")
            .components(&location)
            .components(&[&code, &error.text, "HL70357"])
            .field(error.severity.as_str());
    }

    writer.finish()
}

/// The encoding the first non-empty repetition of MSH-18 names, if Ferry knows it; the ACK
/// echoes MSH-18, so its text must be in that character set.
pub(crate) fn declared_encoding(header: &MshHeader) -> Option<&'static encoding_rs::Encoding> {
    let msh18 = header.character_set();
    let first = msh18
        .split(char::from(header.delimiters.repetition))
        .map(str::trim)
        .find(|name| !name.is_empty())?;
    encoding_for_msh18(first)
}

/// Writes the ACK's MSH: sender and receiver swapped, MSH-9 for the inbound version, MSH-11,
/// MSH-12 and MSH-18 echoed.
fn write_msh(writer: &mut MessageWriter, original: Option<&MshHeader>, options: &AckOptions<'_>) {
    let inbound = |number: usize| {
        original
            .and_then(|header| header.field(number))
            .unwrap_or_default()
    };
    let version = inbound(12);
    let message_type = ack_message_type(original, writer.delimiters());
    let message_type: Vec<&str> = message_type.iter().map(String::as_str).collect();

    let mut msh = writer.msh();
    match options.local_application {
        Some(application) => msh.field(application),
        None => msh.raw_field(inbound(5)),
    };
    match options.local_facility {
        Some(facility) => msh.field(facility),
        None => msh.raw_field(inbound(6)),
    };
    msh.raw_field(inbound(3))
        .raw_field(inbound(4))
        .field(options.timestamp)
        .field("")
        .components(&message_type)
        .field(options.control_id);

    match inbound(11) {
        [] => msh.field(DEFAULT_PROCESSING_ID),
        processing_id => msh.raw_field(processing_id),
    };
    match version {
        [] => msh.field(DEFAULT_VERSION),
        version => msh.raw_field(version),
    };
    msh.empty_fields(5).raw_field(inbound(18));
}

/// MSH-9 of the ACK as components: `ACK`, the inbound trigger event, and the structure
/// `ACK` for versions that have one.
fn ack_message_type(original: Option<&MshHeader>, delimiters: Delimiters) -> Vec<String> {
    let Some(header) = original else {
        return vec!["ACK".to_owned()];
    };
    let trigger = header.trigger_event();
    let trigger = unescape(&trigger, &delimiters).text.into_owned();
    if trigger.is_empty() {
        return vec!["ACK".to_owned()];
    }
    if has_structure_component(&header.version_id(), delimiters) {
        vec!["ACK".to_owned(), trigger, "ACK".to_owned()]
    } else {
        vec!["ACK".to_owned(), trigger]
    }
}

/// Whether MSH-9 of this version has a message structure component: v2.3.1 and later, and
/// any version that cannot be read as numbers (assumed current, as an empty one is).
fn has_structure_component(msh12: &str, delimiters: Delimiters) -> bool {
    let version_id = msh12
        .split(char::from(delimiters.component))
        .next()
        .unwrap_or_default()
        .trim();
    let numbers: Option<Vec<u32>> = version_id
        .split('.')
        .map(|part| part.parse::<u32>().ok())
        .collect();
    match numbers {
        Some(numbers) => numbers.as_slice() >= FIRST_VERSION_WITH_STRUCTURE.as_slice(),
        None => true,
    }
}

/// `now` as an HL7 TS in UTC to the second: `YYYYMMDDHHMMSS` (MSH-7).
///
/// HL7 TS has four-digit years, so an instant outside years 1 to 9999 is written as the
/// nearest end of that range instead of a value the receiver cannot read.
pub fn hl7_timestamp(now: SystemTime) -> String {
    const EARLIEST: &str = "00010101000000";
    const LATEST: &str = "99991231235959";
    let Ok(timestamp) = jiff::Timestamp::try_from(now) else {
        let text = if now < UNIX_EPOCH { EARLIEST } else { LATEST };
        return text.to_owned();
    };
    if timestamp.to_zoned_datetime(jiff::tz::TimeZone::UTC).year() < 1 {
        return EARLIEST.to_owned();
    }
    // A timestamp formats in UTC.
    timestamp.strftime("%Y%m%d%H%M%S").to_string()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::scan::scan_header;

    const OPTIONS: AckOptions<'static> = AckOptions {
        control_id: "ACK1",
        timestamp: "20240101120001",
        local_application: None,
        local_facility: None,
    };

    fn ack(inbound: &str, code: AckCode, text: Option<&str>) -> String {
        let header = scan_header(inbound.as_bytes()).unwrap();
        let bytes = build_ack(Some(&header), code, text, None, &OPTIONS);
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn codes_classify_themselves() {
        for code in [AckCode::AA, AckCode::AE, AckCode::AR] {
            assert!(!code.is_enhanced());
            assert_eq!(AckCode::parse(code.as_str()), Some(code));
            assert_eq!(code.to_string().parse::<AckCode>().ok(), Some(code));
        }
        let classes = |code: AckCode| (code.is_accept(), code.is_error(), code.is_reject());
        assert_eq!(classes(AckCode::CA), (true, false, false));
        assert_eq!(classes(AckCode::CE), (false, true, false));
        assert_eq!(classes(AckCode::CR), (false, false, true));
        assert!(AckCode::CR.is_enhanced());
        assert_eq!(AckCode::parse("aa"), None);
        assert!(matches!(
            "XX".parse::<AckCode>(),
            Err(AckReadError::BadCode { found }) if found == "XX"
        ));
    }

    #[test]
    fn conditions_of_table_0155() {
        let cases = [
            ("AL", AckCondition::Always, true, true),
            ("NE", AckCondition::Never, false, false),
            ("ER", AckCondition::Error, false, true),
            (" SU", AckCondition::Success, true, false),
        ];
        for (text, condition, on_accept, on_error) in cases {
            assert_eq!(AckCondition::parse(text), Some(condition));
            assert_eq!(AckCondition::parse(condition.as_str()), Some(condition));
            assert_eq!(condition.wants(true), on_accept, "{text}");
            assert_eq!(condition.wants(false), on_error, "{text}");
        }
        assert_eq!(AckCondition::parse("XX"), None);
    }

    #[test]
    fn requested_acks_tell_original_from_enhanced_mode() {
        let original = scan_header(b"MSH|^~\\&|A|B|C|D|1||ADT^A01|X|P|2.5.1").unwrap();
        assert_eq!(
            RequestedAcks::from_header(&original),
            RequestedAcks::default()
        );
        assert!(!RequestedAcks::from_header(&original).is_enhanced());

        let enhanced = scan_header(b"MSH|^~\\&|A|B|C|D|1||ADT^A01|X|P|2.5.1|||AL|ER\r").unwrap();
        let requested = RequestedAcks::from_header(&enhanced);
        assert_eq!(requested.accept, Some(AckCondition::Always));
        assert_eq!(requested.application, Some(AckCondition::Error));
        assert!(requested.is_enhanced());

        let unknown = scan_header(b"MSH|^~\\&|A|B|C|D|1||ADT^A01|X|P|2.5.1|||XX|").unwrap();
        assert!(!RequestedAcks::from_header(&unknown).is_enhanced());
    }

    #[test]
    fn message_type_follows_the_inbound_version() {
        let inbound =
            |version: &str| format!("MSH|^~\\&|A|B|C|D|1||ADT^A01^ADT_A01|X|P|{version}\rPID|1\r");
        let msh9 = |version: &str| {
            let text = ack(&inbound(version), AckCode::AA, None);
            text.split('|').nth(8).unwrap_or_default().to_owned()
        };
        for version in ["2.1", "2.2", "2.3", "2.3.0"] {
            assert_eq!(msh9(version), "ACK^A01", "{version}");
        }
        for version in ["2.3.1", "2.4", "2.5.1", "2.7", "2.10", "", "2.x", "2.5^DEU"] {
            assert_eq!(msh9(version), "ACK^A01^ACK", "{version}");
        }
        let no_trigger = ack("MSH|^~\\&|A|B|C|D|1||ORU|X|P|2.5", AckCode::AA, None);
        assert!(no_trigger.contains("||ACK|ACK1|"), "{no_trigger}");
    }

    #[test]
    fn echoes_msh18_and_leaves_13_to_17_empty() {
        let inbound = "MSH|^~\\&|A|B|C|D|1||ADT^A01|X|T|2.4|7||AL|AL|DEU|UNICODE UTF-8\r";
        let text = ack(inbound, AckCode::CA, None);
        assert_eq!(
            text,
            "MSH|^~\\&|C|D|A|B|20240101120001||ACK^A01^ACK|ACK1|T|2.4||||||UNICODE UTF-8\r\
             MSA|CA|X\r"
        );
    }

    #[test]
    fn text_is_encoded_in_the_inbound_charset() {
        let inbound = "MSH|^~\\&|A|B|C|D|1||ADT^A01|X|P|2.5.1||||||8859/1\r";
        let header = scan_header(inbound.as_bytes()).unwrap();
        let bytes = build_ack(Some(&header), AckCode::AE, Some("MÜLLER"), None, &OPTIONS);
        assert!(bytes.ends_with(b"MSA|AE|X|M\xDCLLER\r"));
    }

    #[test]
    fn error_locations_render_as_erl() {
        assert_eq!(ErrorLocation::new("MSH", 1, 10).to_string(), "MSH^1^10");
        let path = FieldPath::parse("PID[2]-5.2").unwrap();
        assert_eq!(ErrorLocation::from(&path).to_string(), "PID^2^5^1^2");
        let repetition = FieldPath::parse("PID-3[3]").unwrap();
        assert_eq!(ErrorLocation::from(&repetition).to_string(), "PID^1^3^3");
    }

    #[test]
    fn missing_header_fields_are_located() {
        let no_control_id = scan_header(b"MSH|^~\\&|A|B|C|D|1||ADT^A01||P|2.5.1\r").unwrap();
        let error = missing_header_field(&no_control_id).unwrap();
        assert_eq!(error.code, 101);
        assert_eq!(error.text, "Required field missing");
        assert_eq!(error.location, Some(ErrorLocation::new("MSH", 1, 10)));

        let no_type = scan_header(b"MSH|^~\\&|A|B|C|D|1|||X|P|2.5.1\r").unwrap();
        let location = missing_header_field(&no_type).and_then(|error| error.location);
        assert_eq!(location.map(|location| location.field), Some(9));

        let complete = scan_header(b"MSH|^~\\&|A|B|C|D|1||ADT^A01|X|P|2.5.1\r").unwrap();
        assert_eq!(missing_header_field(&complete), None);
    }

    #[test]
    fn standard_texts_of_table_0357() {
        assert_eq!(AckError::standard(205).text, "Duplicate key identifier");
        assert_eq!(AckError::standard(999).text, "");
        let warning = AckError::new(102, "bad date").with_severity(Severity::Warning);
        assert_eq!(warning.severity.as_str(), "W");
    }

    #[test]
    fn timestamps_are_utc_seconds() {
        let at = |seconds: u64| hl7_timestamp(UNIX_EPOCH + Duration::from_secs(seconds));
        assert_eq!(at(0), "19700101000000");
        assert_eq!(at(1_704_110_400), "20240101120000");
        assert_eq!(at(951_868_799), "20000229235959");
        let far_future = UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        assert_eq!(hl7_timestamp(far_future), "99991231235959");
        if let Some(far_past) = UNIX_EPOCH.checked_sub(Duration::from_secs(70_000_000_000)) {
            assert_eq!(hl7_timestamp(far_past), "00010101000000");
        }
    }
}
