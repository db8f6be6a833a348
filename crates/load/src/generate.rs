//! Synthetic HL7 v2.5.1 messages for load: admissions (ADT) and lab results (ORU).
//!
//! What holds for every message [`Generator::message`] returns:
//! - it is HL7 v2.5.1 with the standard delimiters `|^~\&`, every segment ends with CR and
//!   no value holds a delimiter, so Ferry's MSH pre-scan and parser accept it unchanged;
//! - it is between [`MIN_SIZE`] and [`MAX_SIZE`] bytes, the size drawn anew for each message,
//!   so a receiver sees the spread of sizes a real feed has rather than one block size;
//! - ADT is `ADT^A01`, `^A04` or `^A08` (structure ADT_A01): MSH, EVN, PID, up to two
//!   NK1, PV1, then vital-sign OBX, AL1, DG1 and IN1 segments up to the drawn size, in the
//!   order the structure lists them;
//! - ORU is `ORU^R01^ORU_R01`: MSH, PID, PV1, then order groups (ORC, OBR, three to eight
//!   OBX each sometimes followed by an NTE) up to the drawn size, with abnormal flags that
//!   agree with the reference range;
//! - MSH-10 is the [`ControlId`] given; MSH-15 and MSH-16 stay empty (original
//!   acknowledgement mode), so a receiver answers with AA, AE or AR.
//!
//! All names, numbers and codes are drawn from small built-in tables: nothing here is or
//! resembles real patient data beyond its shape.

use std::fmt::Write as _;
use std::time::SystemTime;

use crate::control_id::ControlId;

/// The smallest message generated, in bytes.
pub const MIN_SIZE: usize = 512;
/// The largest message generated, in bytes.
pub const MAX_SIZE: usize = 2048;

/// A 64-bit mixing step (SplitMix64): turns a counter or a seed into well spread bits. Used
/// instead of a random number crate because load data only needs variety, not secrecy.
pub(crate) fn splitmix64(state: u64) -> u64 {
    let mut z = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A small deterministic random source: the same seed gives the same messages, which
/// makes a failing test repeatable.
#[derive(Debug, Clone)]
struct Draw {
    state: u64,
}

impl Draw {
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(1);
        splitmix64(self.state)
    }

    /// A number in `low..=high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    fn pick<'a, T>(&mut self, table: &'a [T]) -> Option<&'a T> {
        table.get((self.next() % table.len() as u64) as usize)
    }

    fn text<'a>(&mut self, table: &[&'a str]) -> &'a str {
        self.pick(table).copied().unwrap_or_default()
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    /// An identifier: `prefix` and `digits` decimal digits.
    fn number(&mut self, prefix: &str, digits: u32) -> String {
        let value = self.between(0, 10u64.pow(digits) - 1);
        format!("{prefix}{value:0width$}", width = digits as usize)
    }
}

const FAMILY: &[&str] = &[
    "SMITH",
    "NGUYEN",
    "GARCIA",
    "MUELLER",
    "ROSSI",
    "KOWALSKI",
    "TANAKA",
    "OKAFOR",
    "DUBOIS",
    "HANSEN",
    "MARTIN",
    "SILVA",
    "BROWN",
    "KIM",
    "OSEI",
    "LINDQVIST",
];
const GIVEN: &[&str] = &[
    "ANNA", "JOHN", "MARIA", "AHMED", "LENA", "PETER", "SOFIA", "LUCAS", "MEI", "OMAR", "CLARA",
    "JONAS", "AMARA", "NOAH",
];
const STREETS: &[&str] = &[
    "12 HARBOUR ST",
    "4 MILL LANE",
    "88 STATION RD",
    "7 ORCHARD WAY",
    "230 RIVER AVE",
];
const CITIES: &[&str] = &["ANYTOWN", "RIVERTON", "LAKESIDE", "HILLCREST", "BAYVIEW"];
const WARDS: &[&str] = &["MED1", "MED2", "SURG", "CARD", "ORTHO", "ICU"];
const DOCTORS: &[&str] = &[
    "1001^HOUSE^GREGORY^^^DR",
    "1002^QUINN^MICHAELA^^^DR",
    "1003^WATSON^JOAN^^^DR",
    "1004^ROSS^DOUG^^^DR",
];
/// NK1-3, relationship (HL7 table 0063).
const RELATIONS: &[&str] = &[
    "SPO^Spouse^HL70063",
    "CHD^Child^HL70063",
    "PAR^Parent^HL70063",
];
/// AL1-3, -4, -5: allergen, severity, reaction.
const ALLERGIES: &[&str] = &[
    "PEN^Penicillin^L|SV|Hives",
    "ASP^Aspirin^L|MO|Rash",
    "LAT^Latex^L|MI|Itching",
    "PNT^Peanuts^L|SV|Anaphylaxis",
];
/// DG1-3, ICD-10 code and text.
const DIAGNOSES: &[&str] = &[
    "I10^Essential hypertension^I10",
    "E11.9^Type 2 diabetes mellitus without complications^I10",
    "J18.9^Pneumonia, unspecified organism^I10",
    "N39.0^Urinary tract infection, site not specified^I10",
    "I48.91^Unspecified atrial fibrillation^I10",
];
/// IN1-2, -3, -4: plan, company id, company name.
const INSURERS: &[[&str; 3]] = &[
    [
        "PPO1^Preferred provider plan^L",
        "HM0042^^^HM^NIIP",
        "HARBOUR MUTUAL",
    ],
    [
        "HMO2^Managed care plan^L",
        "BR0107^^^BR^NIIP",
        "BLUE RIVER HEALTH",
    ],
    [
        "MCR^Medicare part A^L",
        "CM0001^^^CM^NIIP",
        "CIVIC CARE PLAN",
    ],
];
const PANELS: &[&str] = &[
    "24323-8^Comprehensive metabolic panel^LN",
    "58410-2^CBC panel^LN",
    "24320-4^Basic metabolic panel^LN",
];
const COMMENTS: &[&str] = &[
    "Specimen slightly hemolyzed",
    "Result verified by repeat analysis",
    "Called to ward nurse",
    "Fasting sample as requested",
];

/// A numeric observation an OBX reports: its LOINC code and short name, units, reference
/// range and the range values are drawn from, all in tenths.
#[derive(Debug)]
struct Observation {
    code: &'static str,
    name: &'static str,
    units: &'static str,
    normal: (u64, u64),
    drawn: (u64, u64),
}

const fn obs(
    code: &'static str,
    name: &'static str,
    units: &'static str,
    ranges: [u64; 4],
) -> Observation {
    Observation {
        code,
        name,
        units,
        normal: (ranges[0], ranges[1]),
        drawn: (ranges[2], ranges[3]),
    }
}

const LAB: &[Observation] = &[
    obs(
        "2345-7",
        "Glucose SerPl-mCnc",
        "mg/dL",
        [700, 990, 500, 2500],
    ),
    obs("718-7", "Hgb Bld-mCnc", "g/dL", [120, 160, 70, 190]),
    obs("2823-3", "Potassium SerPl-sCnc", "mmol/L", [35, 51, 28, 62]),
    obs(
        "2951-2",
        "Sodium SerPl-sCnc",
        "mmol/L",
        [1360, 1450, 1250, 1550],
    ),
    obs("2160-0", "Creat SerPl-mCnc", "mg/dL", [6, 13, 4, 40]),
    obs("6690-2", "WBC # Bld Auto", "10*3/uL", [45, 110, 20, 250]),
    obs(
        "777-3",
        "Platelet # Bld Auto",
        "10*3/uL",
        [1500, 4000, 800, 5500],
    ),
];
const VITALS: &[Observation] = &[
    obs("8302-2", "Body height", "cm", [1500, 1950, 1450, 2000]),
    obs("29463-7", "Body weight", "kg", [500, 1000, 400, 1400]),
    obs("8867-4", "Heart rate", "/min", [600, 1000, 450, 1300]),
    obs(
        "8480-6",
        "Intravascular systolic",
        "mm[Hg]",
        [900, 1300, 850, 1800],
    ),
];

/// Tenths as text: `120` is `12`, `35` is `3.5`.
fn tenths(value: u64) -> String {
    if value.is_multiple_of(10) {
        (value / 10).to_string()
    } else {
        format!("{}.{}", value / 10, value % 10)
    }
}

/// The patient a message is about, shared by the segments that repeat parts of it.
#[derive(Debug)]
struct Patient {
    family: &'static str,
    name: String,
    birth: String,
    address: String,
}

/// A message being written, with the size it may grow to.
#[derive(Debug)]
struct Body {
    text: String,
    target: usize,
}

impl Body {
    /// Adds an optional segment (or group of them) when the message is still under the
    /// drawn size and stays within [`MAX_SIZE`]; false when it was not added. A message
    /// stops growing at the drawn size (at least [`MIN_SIZE`]) or when the next segment
    /// would pass `MAX_SIZE`; no segment is near `MAX_SIZE - MIN_SIZE` long, so either
    /// way it ends within the bounds.
    fn grow(&mut self, lines: &str) -> bool {
        let fits = self.text.len() < self.target && self.text.len() + lines.len() <= MAX_SIZE;
        if fits {
            self.text.push_str(lines);
        }
        fits
    }
}

/// Writes the messages of one connection.
#[derive(Debug, Clone)]
pub struct Generator {
    draw: Draw,
}

impl Generator {
    /// A generator whose messages depend only on `seed` (and the clock, in MSH-7).
    pub fn new(seed: u64) -> Generator {
        Generator {
            draw: Draw {
                state: splitmix64(seed),
            },
        }
    }

    /// The next message, with `control_id` in MSH-10; ADT or ORU, about as often.
    pub fn message(&mut self, control_id: &ControlId) -> Vec<u8> {
        let target = self.draw.between(MIN_SIZE as u64, MAX_SIZE as u64) as usize;
        let timestamp = ferry_hl7::hl7_timestamp(SystemTime::now());
        let mut body = Body {
            text: String::with_capacity(MAX_SIZE),
            target,
        };
        if self.draw.chance(50) {
            self.adt(&mut body, control_id, &timestamp);
        } else {
            self.oru(&mut body, control_id, &timestamp);
        }
        body.text.into_bytes()
    }

    /// ADT_A01: MSH EVN PID [NK1..] PV1 [OBX..] [AL1..] [DG1..] [IN1..], optional segments
    /// in the structure's order, insurance last to fill up to the drawn size.
    fn adt(&mut self, body: &mut Body, id: &ControlId, timestamp: &str) {
        let out = &mut body.text;
        let event = self.draw.text(&["A01", "A04", "A08"]);
        msh(out, timestamp, &format!("ADT^{event}^ADT_A01"), id);
        segment(out, "EVN", &[(1, event), (2, timestamp)]);
        let patient = self.pid(out);
        for number in 1..=self.draw.between(0, 2) {
            self.nk1(out, number, &patient);
        }
        self.pv1(out, timestamp);

        let mut added = true;
        for number in 1..=self.draw.between(0, 4) {
            let Some(vital) = VITALS.get(number as usize - 1) else {
                break;
            };
            let line = self.obx(number, vital, timestamp);
            added = added && body.grow(&line);
        }
        for number in 1..=self.draw.between(0, 3) {
            let line = format!("AL1|{number}|DA|{}\r", self.draw.text(ALLERGIES));
            added = added && body.grow(&line);
        }
        for number in 1..=self.draw.between(1, 4) {
            let diagnosis = self.draw.text(DIAGNOSES);
            let line = format!("DG1|{number}||{diagnosis}||{timestamp}|A\r");
            added = added && body.grow(&line);
        }
        let mut number = 0;
        while added {
            number += 1;
            let line = self.in1(number, &patient);
            added = body.grow(&line);
        }
    }

    /// ORU_R01: MSH PID PV1 then order groups (ORC OBR, OBX with an occasional NTE) up to
    /// the drawn size, a new order every few results as a lab system sends them.
    fn oru(&mut self, body: &mut Body, id: &ControlId, timestamp: &str) {
        msh(&mut body.text, timestamp, "ORU^R01^ORU_R01", id);
        self.pid(&mut body.text);
        self.pv1(&mut body.text, timestamp);

        for order in 1.. {
            if !body.grow(&self.order(order, timestamp)) {
                return;
            }
            for number in 1..=self.draw.between(3, 8) {
                let Some(test) = self.draw.pick(LAB) else {
                    return;
                };
                let mut lines = self.obx(number, test, timestamp);
                if self.draw.chance(20) {
                    let _ = write!(lines, "NTE|1|L|{}\r", self.draw.text(COMMENTS));
                }
                if !body.grow(&lines) {
                    return;
                }
            }
        }
    }

    fn pid(&mut self, out: &mut String) -> Patient {
        let family = self.draw.text(FAMILY);
        let name = format!(
            "{family}^{}^{}",
            self.draw.text(GIVEN),
            self.draw.text(GIVEN)
        );
        let birth = format!(
            "{}{:02}{:02}",
            self.draw.between(1930, 2020),
            self.draw.between(1, 12),
            self.draw.between(1, 28)
        );
        let address = format!(
            "{}^^{}^^{:05}^USA",
            self.draw.text(STREETS),
            self.draw.text(CITIES),
            self.draw.between(10_000, 99_999)
        );
        let mrn = format!("{}^^^HOSP^MR", self.draw.number("", 8));
        let phone = format!("^PRN^PH^^^555^{}", self.draw.number("", 7));
        let account = format!("{}^^^HOSP^AN", self.draw.number("AC", 8));
        let fields = [
            (1, "1"),
            (3, mrn.as_str()),
            (5, name.as_str()),
            (7, birth.as_str()),
            (8, self.draw.text(&["F", "M", "U"])),
            (11, address.as_str()),
            (13, phone.as_str()),
            (18, account.as_str()),
        ];
        segment(out, "PID", &fields);
        Patient {
            family,
            name,
            birth,
            address,
        }
    }

    fn nk1(&mut self, out: &mut String, number: u64, patient: &Patient) {
        let name = format!("{}^{}", patient.family, self.draw.text(GIVEN));
        let phone = format!("^PRN^PH^^^555^{}", self.draw.number("", 7));
        let number = number.to_string();
        let fields = [
            (1, number.as_str()),
            (2, name.as_str()),
            (3, self.draw.text(RELATIONS)),
            (4, patient.address.as_str()),
            (5, phone.as_str()),
        ];
        segment(out, "NK1", &fields);
    }

    fn pv1(&mut self, out: &mut String, timestamp: &str) {
        let location = format!(
            "{}^{}^{}^HOSP",
            self.draw.text(WARDS),
            self.draw.between(100, 499),
            self.draw.text(&["A", "B"])
        );
        let visit = format!("{}^^^HOSP^VN", self.draw.number("VN", 8));
        let fields = [
            (1, "1"),
            (2, self.draw.text(&["I", "O", "E"])),
            (3, location.as_str()),
            (4, "R"),
            (7, self.draw.text(DOCTORS)),
            (10, "MED"),
            (14, "1"),
            (19, visit.as_str()),
            (44, timestamp),
        ];
        segment(out, "PV1", &fields);
    }

    /// An ORC and its OBR.
    fn order(&mut self, number: u64, timestamp: &str) -> String {
        let placer = self.draw.number("PL", 8);
        let filler = self.draw.number("FL", 8);
        let mut lines = String::with_capacity(256);
        segment(&mut lines, "ORC", &[(1, "RE"), (2, &placer), (3, &filler)]);
        let number = number.to_string();
        let fields = [
            (1, number.as_str()),
            (2, placer.as_str()),
            (3, filler.as_str()),
            (4, self.draw.text(PANELS)),
            (7, timestamp),
            (16, self.draw.text(DOCTORS)),
            (22, timestamp),
            (25, "F"),
        ];
        segment(&mut lines, "OBR", &fields);
        lines
    }

    /// A numeric OBX, with the abnormal flag (table 0078) its reference range gives.
    fn obx(&mut self, number: u64, test: &Observation, timestamp: &str) -> String {
        let value = self.draw.between(test.drawn.0, test.drawn.1);
        let flag = if value < test.normal.0 {
            "L"
        } else if value > test.normal.1 {
            "H"
        } else {
            "N"
        };
        format!(
            "OBX|{number}|NM|{}^{}^LN||{}.{}|{}|{}-{}|{flag}|||F|||{timestamp}\r",
            test.code,
            test.name,
            value / 10,
            value % 10,
            test.units,
            tenths(test.normal.0),
            tenths(test.normal.1),
        )
    }

    fn in1(&mut self, number: u64, patient: &Patient) -> String {
        let [plan, company, company_name] = self.draw.pick(INSURERS).copied().unwrap_or_default();
        let group = self.draw.number("GRP", 5);
        let start = format!("20{:02}0101", self.draw.between(10, 25));
        let mut line = String::with_capacity(256);
        let number = number.to_string();
        let fields = [
            (1, number.as_str()),
            (2, plan),
            (3, company),
            (4, company_name),
            (8, group.as_str()),
            (12, start.as_str()),
            (16, patient.name.as_str()),
            (17, "SEL^Self^HL70063"),
            (18, patient.birth.as_str()),
            (19, patient.address.as_str()),
        ];
        segment(&mut line, "IN1", &fields);
        line
    }
}

fn msh(out: &mut String, timestamp: &str, message_type: &str, id: &ControlId) {
    let _ = write!(
        out,
        "MSH|^~\\&|FERRYLOAD|LOADGEN|FERRY|HUB|{timestamp}||{message_type}|{id}|P|2.5.1\r"
    );
}

/// Writes a segment whose fields are given by number (ascending), leaving the others empty.
fn segment(out: &mut String, id: &str, fields: &[(usize, &str)]) {
    out.push_str(id);
    let mut at = 0;
    for &(number, value) in fields {
        while at < number {
            out.push('|');
            at += 1;
        }
        out.push_str(value);
    }
    out.push('\r');
}

#[cfg(test)]
mod tests {
    use ferry_hl7::{FieldPath, Hl7Message, scan_header};

    use super::*;
    use crate::control_id::{RunId, StreamKey};

    fn id(sequence: u64) -> ControlId {
        ControlId {
            stream: StreamKey {
                run: RunId::from_seed(1),
                connection: 3,
            },
            sequence,
        }
    }

    /// The ADT_A01 segments this generator writes: id, least and most occurrences.
    const ADT_A01: &[(&str, usize, usize)] = &[
        ("MSH", 1, 1),
        ("EVN", 1, 1),
        ("PID", 1, 1),
        ("NK1", 0, 2),
        ("PV1", 1, 1),
        ("OBX", 0, 4),
        ("AL1", 0, 3),
        ("DG1", 0, 4),
        ("IN1", 0, usize::MAX),
    ];
    const ORU_R01_START: [(&str, usize, usize); 3] = [("MSH", 1, 1), ("PID", 1, 1), ("PV1", 1, 1)];

    /// Whether `ids` are the segments of `structure`, in its order and counts.
    fn follows(ids: &[&str], structure: &[(&str, usize, usize)]) -> bool {
        let mut at = 0;
        for &(id, least, most) in structure {
            let run = ids[at..].iter().take_while(|&&found| found == id).count();
            if run < least || run > most {
                return false;
            }
            at += run;
        }
        at == ids.len()
    }

    /// Whether `ids` are ORU order groups: ORC OBR, then OBX each with an optional NTE.
    fn orders_follow(ids: &[&str]) -> bool {
        let mut before = "PV1";
        for &id in ids {
            let allowed = match id {
                "ORC" => matches!(before, "PV1" | "OBR" | "OBX" | "NTE"),
                "OBR" => before == "ORC",
                "OBX" => matches!(before, "OBR" | "OBX" | "NTE"),
                "NTE" => before == "OBX",
                _ => false,
            };
            if !allowed {
                return false;
            }
            before = id;
        }
        ids.first() == Some(&"ORC")
    }

    #[test]
    fn messages_parse_and_stay_within_the_sizes() {
        let mut generator = Generator::new(99);
        let mut sizes = Vec::new();
        let mut types = std::collections::BTreeSet::new();
        for sequence in 1..=2000 {
            let bytes = generator.message(&id(sequence));
            sizes.push(bytes.len());
            assert!(
                (MIN_SIZE..=MAX_SIZE).contains(&bytes.len()),
                "{}",
                bytes.len()
            );
            assert!(bytes.ends_with(b"\r") && !bytes.contains(&b'\n'));

            let header = scan_header(&bytes).unwrap();
            assert_eq!(header.control_id(), id(sequence).to_string());
            assert_eq!(header.version_id(), "2.5.1");
            types.insert(header.message_type_field().into_owned());

            let text = std::str::from_utf8(&bytes).unwrap();
            let message = Hl7Message::parse(text).unwrap();
            let ids: Vec<&str> = message.segment_ids().collect();
            if ids[1] == "EVN" {
                assert!(follows(&ids, ADT_A01), "{ids:?}");
            } else {
                assert!(follows(&ids[..3], &ORU_R01_START), "{ids:?}");
                assert!(orders_follow(&ids[3..]), "{ids:?}");
            }
            let pid_3 = FieldPath::parse("PID-3.1").unwrap();
            assert_eq!(message.get_raw(&pid_3).map(str::len), Some(8));
        }
        let smallest = sizes.iter().min().unwrap();
        let largest = sizes.iter().max().unwrap();
        assert!(*smallest < 700 && *largest > 1900, "{smallest}..{largest}");
        assert_eq!(types.len(), 4, "{types:?}");
    }

    #[test]
    fn the_same_seed_gives_the_same_message_body() {
        let strip_times = |bytes: Vec<u8>| {
            let text = String::from_utf8(bytes).unwrap();
            text.split('|')
                .filter(|field| !field.starts_with("20"))
                .collect::<Vec<_>>()
                .join("|")
        };
        let first = strip_times(Generator::new(5).message(&id(1)));
        let second = strip_times(Generator::new(5).message(&id(1)));
        assert_eq!(first, second);
    }
}
