//! XML paths and JSON pointers over bodies shaped like the ones hospitals exchange: an
//! HL7 v3 CDA header, a SOAP 1.2 envelope in ISO-8859-1, a Dataverse contact entity.

use ferry_rules::compile;

use crate::support::BodyDoc;

fn holds(condition: &str, doc: &BodyDoc) -> bool {
    compile(condition)
        .unwrap_or_else(|error| panic!("{condition:?}: {error}"))
        .matches(doc)
}

fn all_hold(conditions: &[&str], doc: &BodyDoc) {
    for condition in conditions {
        assert!(holds(condition, doc), "{condition}");
    }
}

fn none_hold(conditions: &[&str], doc: &BodyDoc) {
    for condition in conditions {
        assert!(!holds(condition, doc), "{condition}");
    }
}

/// A discharge summary header with the HL7 v3 namespace bound to the prefix `cda`.
const CDA: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<?xml-stylesheet type="text/xsl" href="cda.xsl"?>
<cda:ClinicalDocument xmlns:cda="urn:hl7-org:v3" xmlns:sdtc="urn:hl7-org:sdtc"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <cda:realmCode code="CH"/>
  <cda:typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <cda:templateId root="2.16.840.1.113883.10.20.22.1.1" extension="2015-08-01"/>
  <cda:templateId root="2.16.840.1.113883.10.20.22.1.8" extension="2015-08-01"/>
  <cda:id root="2.16.756.5.30.1.99.1" extension="DOC-20261204-0042"/>
  <cda:code code="18842-5" codeSystem="2.16.840.1.113883.6.1"
      displayName="Discharge summary"/>
  <cda:title>Austrittsbericht &amp; Pflegeplan</cda:title>
  <cda:effectiveTime value="20261204093000+0100"/>
  <!-- the patient -->
  <cda:recordTarget>
    <cda:patientRole>
      <cda:id root="2.16.756.5.30.1.99.2" extension="PAT-778812"/>
      <cda:id root="2.16.756.5.32" extension="7560000000001"/>
      <cda:addr use="HP">
        <cda:streetAddressLine>Bahnhofstrasse 12</cda:streetAddressLine>
        <cda:city>Zürich</cda:city>
      </cda:addr>
      <cda:patient>
        <cda:name><cda:given>Anna</cda:given><cda:given>Maria</cda:given>
          <cda:family>Keller-Brunner</cda:family></cda:name>
        <cda:administrativeGenderCode code="F" codeSystem="2.16.840.1.113883.5.1"/>
        <cda:birthTime value="19580317"/>
        <sdtc:deceasedInd value="false"/>
      </cda:patient>
    </cda:patientRole>
  </cda:recordTarget>
  <cda:author>
    <cda:assignedAuthor>
      <cda:id nullFlavor="UNK"/>
      <cda:assignedPerson>
        <cda:name><![CDATA[Dr. J. Meier <Innere Medizin>]]></cda:name>
      </cda:assignedPerson>
    </cda:assignedAuthor>
  </cda:author>
  <cda:component><cda:structuredBody/></cda:component>
</cda:ClinicalDocument>
"#;

#[test]
fn cda_header_fields_route_whatever_the_prefix() {
    let prefixed = BodyDoc::xml(CDA.as_bytes());
    let default_namespace = CDA
        .replace("<cda:", "<")
        .replace("</cda:", "</")
        .replace("xmlns:cda=", "xmlns=");
    let unprefixed = BodyDoc::xml(default_namespace.as_bytes());

    for doc in [&prefixed, &unprefixed] {
        all_hold(
            &[
                r#"xml:/ClinicalDocument/recordTarget/patientRole/id/@extension = "PAT-778812""#,
                r#"xml:/ClinicalDocument/recordTarget/patientRole/id[2]/@root = "2.16.756.5.32""#,
                r#"xml:/ClinicalDocument/code/@code in ("34133-9", "18842-5")"#,
                r#"xml:/ClinicalDocument/templateId[2]/@root starts with "2.16.840.1.113883""#,
                r#"xml:/ClinicalDocument/*[2]/@extension = "POCD_HD000040""#,
                r#"xml:/ClinicalDocument/title = "Austrittsbericht & Pflegeplan""#,
                r#"xml:/ClinicalDocument/title/text() contains "&""#,
                r#"xml:/ClinicalDocument/recordTarget/patientRole/patient/name/given[2] = "Maria""#,
                r#"xml:/ClinicalDocument/recordTarget/patientRole/addr/city = "Zürich""#,
                r#"xml:/ClinicalDocument/recordTarget/patientRole/patient/birthTime/@value
                    < "19600101""#,
                r#"xml:/ClinicalDocument/recordTarget/patientRole/patient/deceasedInd/@value
                    = "false""#,
                r#"xml:/ClinicalDocument/author/assignedAuthor/id/@nullFlavor = "UNK""#,
                r#"xml:/ClinicalDocument/author/assignedAuthor/id/@extension is empty"#,
                r#"xml:/ClinicalDocument/author/assignedAuthor/assignedPerson/name
                    = "Dr. J. Meier <Innere Medizin>""#,
                r#"xml:/ClinicalDocument/effectiveTime/@value starts with "20261204""#,
            ],
            doc,
        );
        none_hold(
            &[
                r#"xml:/ClinicalDocument/effectiveTime/@value > 20261204000000"#,
                r#"xml:/ClinicalDocument/legalAuthenticator exists"#,
                r#"xml:/Envelope/Body exists"#,
                r#"xml:/ClinicalDocument/templateId[3] exists"#,
                r#"xml:/ClinicalDocument/recordTarget/patientRole/id[3]/@root exists"#,
                r#"xml:/ClinicalDocument/@cda exists"#,
            ],
            doc,
        );
    }
}

#[test]
fn an_element_with_children_reads_all_its_text_trimmed() {
    let doc = BodyDoc::xml(CDA.as_bytes());
    all_hold(
        &[
            r#"xml:/ClinicalDocument/recordTarget/patientRole/addr
                starts with "Bahnhofstrasse 12""#,
            r#"xml:/ClinicalDocument/recordTarget/patientRole/addr contains "Zürich""#,
            r#"xml:/ClinicalDocument/recordTarget/patientRole/patient/name
                = "AnnaMaria
          Keller-Brunner""#,
            "xml:/ClinicalDocument/component exists",
            "xml:/ClinicalDocument/component is empty",
            "xml:/ClinicalDocument/realmCode is empty",
            "xml:/ClinicalDocument/realmCode is not null",
        ],
        &doc,
    );
}

/// An XDS-like lab submission in a SOAP 1.2 envelope, as a sender in ISO-8859-1 writes it.
const SOAP: &str = r#"<?xml version="1.0" encoding="ISO-8859-1"?>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"
              xmlns:wsa="http://www.w3.org/2005/08/addressing">
  <env:Header>
    <wsa:Action env:mustUnderstand="true">urn:example:lab:SubmitResult</wsa:Action>
    <wsa:MessageID>urn:uuid:5f0c3a52-8e1d-4c39-9d51-3b8f1e7a2c10</wsa:MessageID>
  </env:Header>
  <env:Body>
    <lab:SubmitResult xmlns:lab="urn:example:lab:v2" priority="2">
      <lab:Order number="ORD-5531">
        <lab:Patient mrn="MRN-0042">Müller, Jürg</lab:Patient>
      </lab:Order>
      <lab:Result code="GLU" unit="mmol/L">7.8</lab:Result>
      <lab:Result code="HBA1C" unit="%">6.1</lab:Result>
      <lab:Comment xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/>
    </lab:SubmitResult>
  </env:Body>
</env:Envelope>
"#;

/// The text as ISO-8859-1 bytes (every character of [`SOAP`] is in Latin-1).
fn latin1(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("a Latin-1 character"))
        .collect()
}

#[test]
fn soap_body_fields_route_after_decoding_the_declared_charset() {
    let bytes = latin1(SOAP);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the test needs non-UTF-8 bytes"
    );
    let doc = BodyDoc::xml(&bytes);
    all_hold(
        &[
            r#"xml:/Envelope/Header/Action = "urn:example:lab:SubmitResult""#,
            r#"xml:/Envelope/Header/Action/@mustUnderstand = "true""#,
            r#"xml:/Envelope/Body/SubmitResult/Order/Patient/@mrn = "MRN-0042""#,
            r#"xml:/Envelope/Body/SubmitResult/Order/Patient = "Müller, Jürg""#,
            "xml:/Envelope/Body/*/@priority > 1",
            "xml:/Envelope/Body/SubmitResult/Result > 7.5",
            r#"xml:/Envelope/Body/SubmitResult/Result[2]/@code = "HBA1C"
                and xml:/Envelope/Body/SubmitResult/Result[2] < 6.5"#,
            r#"xml:/Envelope/Body/SubmitResult/Result/@unit = "mmol/L""#,
            "xml:/Envelope/Body/SubmitResult/Comment is null",
            "xml:/Envelope/Body/SubmitResult/Comment exists",
            "xml:/Envelope/Body/SubmitResult/Result != xml:/Envelope/Body/SubmitResult/Result[2]",
        ],
        &doc,
    );
    none_hold(
        &[
            r#"xml:/Envelope/Body/SubmitResult/Comment = "x""#,
            "xml:/Envelope/Body/SubmitResult/Result[3] exists",
            "xml:/Envelope/Body/SubmitResult/@lab exists",
            "json:/Envelope exists",
        ],
        &doc,
    );
}

/// A contact as the Dataverse Web API returns it, annotations included.
const CONTACT: &str = r#"{
  "@odata.context": "https://org.example/api/data/v9.2/$metadata#contacts/$entity",
  "@odata.etag": "W/\"4417706\"",
  "contactid": "7d577253-3ef0-4a0a-bb7f-8335c2596e70",
  "firstname": "Nora",
  "lastname": "O'Neill",
  "address1_city": "Basel",
  "address1_line2": "",
  "emailaddress1": null,
  "numberofchildren": 2,
  "creditlimit": 1500.5,
  "donotemail": false,
  "statecode": 0,
  "_parentcustomerid_value": "b1a4c0e2-5d3f-4a8e-9c71-000000000001",
  "_parentcustomerid_value@OData.Community.Display.V1.FormattedValue": "Kantonsspital Nord",
  "msdyn_tags": ["vip", "diabetes"],
  "ferry_meta": {"a/b": "slash", "m~n": "tilde"}
}"#;

#[test]
fn dataverse_entity_fields_route_by_type() {
    let doc = BodyDoc::json(CONTACT.as_bytes());
    all_hold(
        &[
            r#"json:/@odata.etag = "W/\"4417706\"""#,
            r##"json:/@odata.context contains "#contacts/$entity""##,
            r#"json:/firstname = "Nora" and json:/address1_city in ("Basel", "Bern")"#,
            r#"json:/lastname = "O'Neill""#,
            "json:/emailaddress1 is null",
            "json:/emailaddress1 exists",
            r#"json:/emailaddress1 != "nora@example.org""#,
            "json:/numberofchildren >= 2 and json:/numberofchildren < 3",
            "json:/numberofchildren = 2.0",
            "json:/numberofchildren in (1, 2)",
            "json:/creditlimit > 1000.25",
            "json:/donotemail = false",
            "not json:/donotemail = true",
            r#"json:/statecode = "0""#,
            r#"json:/msdyn_tags/0 = "vip""#,
            r#"json:/msdyn_tags contains "\"diabetes\"""#,
            "json:/ferry_meta exists",
            r#"json:/ferry_meta/a~1b = "slash" and json:/ferry_meta/m~0n = "tilde""#,
            r#"json:/_parentcustomerid_value@OData.Community.Display.V1.FormattedValue
                starts with "Kantons""#,
            "json:/address1_line2 exists and json:/address1_line2 is empty",
            "json:/middlename is empty",
        ],
        &doc,
    );
    none_hold(
        &[
            "json:/middlename exists",
            "json:/msdyn_tags/2 exists",
            "json:/msdyn_tags/01 exists",
            "json:/contactid > 5",
            "json:/emailaddress1 is empty",
            "json:/donotemail = true",
            "xml:/contactid exists",
            "json:/numberofchildren > json:/creditlimit",
        ],
        &doc,
    );
}

#[test]
fn bodies_that_do_not_decode_or_parse_read_as_missing() {
    let cases = [
        BodyDoc::xml(b"<a>\xff</a>"),
        BodyDoc::xml(b"<?xml version='1.0' encoding='x-unknown'?><a/>"),
        BodyDoc::json(b"{\"a\": "),
        BodyDoc::json(b"\xff"),
    ];
    for doc in &cases {
        none_hold(&["xml:/a exists", "json:/a exists", "json: exists"], doc);
    }
    // A document broken after the match still gives what came before the break.
    let truncated = BodyDoc::xml(b"<a><b x='1'/><c>");
    assert!(holds(r#"xml:/a/b/@x = "1""#, &truncated));
    assert!(!holds("xml:/a/c exists", &truncated));
}
