//! A report's tables as open-data files: CSV (one table) and ODS (OpenDocument spreadsheet,
//! one sheet per table).
//!
//! An ODS file is a zip archive holding a `mimetype` entry (first, uncompressed), a manifest
//! and `content.xml`. The archive is written here, uncompressed ("stored"), with `crc32fast`
//! for the checksums: a few dozen lines instead of `spreadsheet-ods` and its dependency tree
//! (a decimal crate, a date crate, an XML library and a zip library), for tables of a few
//! hundred cells.

use super::svg::escape;
use super::tables::{Cell, Table};

/// The table as CSV (comma-separated, RFC 4180 quoting, headings first).
pub(crate) fn csv(table: &Table) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail; a failure would only shorten the file.
    let _ = w.write_record(&table.headings);
    for row in &table.rows {
        let _ = w.write_record(row.iter().map(|c| c.text(false)));
    }
    w.into_inner().unwrap_or_default()
}

/// A sheet name as spreadsheets accept it: at most 31 characters, none of `[]*?:/\`.
fn sheet_name(title: &str) -> String {
    title.chars().filter(|c| !"[]*?:/\\".contains(*c)).take(31).collect()
}

fn content_xml(tables: &[&Table]) -> String {
    let mut x = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet>"#,
    );
    let text_cell = |x: &mut String, s: &str| {
        x.push_str(r#"<table:table-cell office:value-type="string"><text:p>"#);
        x.push_str(&escape(s));
        x.push_str("</text:p></table:table-cell>");
    };
    for t in tables {
        x.push_str(&format!(r#"<table:table table:name="{}"><table:table-row>"#, escape(&sheet_name(&t.title))));
        for h in &t.headings {
            text_cell(&mut x, h);
        }
        x.push_str("</table:table-row>");
        for row in &t.rows {
            x.push_str("<table:table-row>");
            for c in row {
                match c {
                    Cell::Text(s) => text_cell(&mut x, s),
                    Cell::Int(_) | Cell::Dec(_) => {
                        let v = c.text(false);
                        x.push_str(&format!(
                            r#"<table:table-cell office:value-type="float" office:value="{v}"><text:p>{v}</text:p></table:table-cell>"#
                        ));
                    }
                    Cell::None => x.push_str("<table:table-cell/>"),
                }
            }
            x.push_str("</table:table-row>");
        }
        x.push_str("</table:table>");
    }
    x.push_str("</office:spreadsheet></office:body></office:document-content>");
    x
}

const MANIFEST: &str = r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:version="1.2" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#;

/// The media type of an ODS spreadsheet.
pub(crate) const ODS_TYPE: &str = "application/vnd.oasis.opendocument.spreadsheet";

/// The tables as an ODS spreadsheet, one sheet each.
pub(crate) fn ods(tables: &[&Table]) -> Vec<u8> {
    let entries: [(&str, Vec<u8>); 3] = [
        ("mimetype", ODS_TYPE.as_bytes().to_vec()),
        ("META-INF/manifest.xml", MANIFEST.as_bytes().to_vec()),
        ("content.xml", content_xml(tables).into_bytes()),
    ];
    stored_zip(&entries)
}

/// A zip archive of uncompressed entries, in order.
fn stored_zip(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let u16le = |v: &mut Vec<u8>, n: u16| v.extend_from_slice(&n.to_le_bytes());
    let u32le = |v: &mut Vec<u8>, n: u32| v.extend_from_slice(&n.to_le_bytes());
    // 1980-01-01 00:00, the earliest DOS date: the file says nothing about when it was made.
    const DOS_DATE: u16 = (1 << 5) | 1;
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let offset = u32::try_from(out.len()).unwrap_or(u32::MAX);
        let crc = crc32fast::hash(data);
        let size = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let name_len = u16::try_from(name.len()).unwrap_or(u16::MAX);
        // Local header.
        u32le(&mut out, 0x0403_4b50);
        for n in [20, 0, 0, 0, DOS_DATE] {
            u16le(&mut out, n);
        }
        for n in [crc, size, size] {
            u32le(&mut out, n);
        }
        u16le(&mut out, name_len);
        u16le(&mut out, 0);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        // Central directory record.
        u32le(&mut central, 0x0201_4b50);
        for n in [20, 20, 0, 0, 0, DOS_DATE] {
            u16le(&mut central, n);
        }
        for n in [crc, size, size] {
            u32le(&mut central, n);
        }
        for n in [name_len, 0, 0, 0, 0] {
            u16le(&mut central, n);
        }
        u32le(&mut central, 0);
        u32le(&mut central, offset);
        central.extend_from_slice(name.as_bytes());
    }
    let central_offset = u32::try_from(out.len()).unwrap_or(u32::MAX);
    let central_size = u32::try_from(central.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&central);
    let count = u16::try_from(entries.len()).unwrap_or(u16::MAX);
    u32le(&mut out, 0x0605_4b50);
    for n in [0, 0, count, count] {
        u16le(&mut out, n);
    }
    u32le(&mut out, central_size);
    u32le(&mut out, central_offset);
    u16le(&mut out, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            key: "t",
            title: "Per ufficio: [prova]".into(),
            headings: vec!["Ufficio".into(), "Appuntamenti".into()],
            rows: vec![
                vec![Cell::Text("Anagrafe, \"centro\"".into()), Cell::Int(12)],
                vec![Cell::Text("Tributi & <tasse>".into()), Cell::None],
            ],
        }
    }

    #[test]
    fn csv_quotes_commas_and_quotes_and_leaves_withheld_cells_empty() {
        let text = String::from_utf8(csv(&table())).unwrap_or_default();
        assert_eq!(text, "Ufficio,Appuntamenti\n\"Anagrafe, \"\"centro\"\"\",12\nTributi & <tasse>,\n");
    }

    #[test]
    fn the_ods_archive_starts_with_its_stored_mimetype_and_holds_escaped_cells() {
        let t = table();
        let bytes = ods(&[&t]);
        assert_eq!(&bytes[..4], b"PK\x03\x04");
        // The mimetype entry's name at offset 30 and its content right after, uncompressed.
        assert_eq!(&bytes[30..38], b"mimetype");
        assert_eq!(&bytes[38..38 + ODS_TYPE.len()], ODS_TYPE.as_bytes());
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains(r#"table:name="Per ufficio prova""#), "{text}");
        assert!(text.contains("Tributi &amp; &lt;tasse&gt;"));
        assert!(text.contains(r#"office:value="12""#));
        assert!(text.ends_with("\0\0"), "the end record has no comment");
    }
}
