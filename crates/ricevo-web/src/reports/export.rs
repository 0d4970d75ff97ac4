//! A report's tables as open-data files: CSV (one table) and ODS (OpenDocument spreadsheet,
//! one sheet per table).
//!
//! An ODS file is a zip archive holding a `mimetype` entry (first, uncompressed), a manifest
//! and `content.xml`. The three XML texts are written here (tables of a few hundred cells do
//! not need `spreadsheet-ods` and its decimal, date and XML dependencies); the archive is the
//! `zip` crate's, with every entry stored uncompressed as the format asks of `mimetype`.

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
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    // Writing to memory fails only on a bug in the archive's bookkeeping; the file would be
    // empty rather than half written.
    let written: zip::result::ZipResult<()> = entries.iter().try_for_each(|(name, data)| {
        zip.start_file(*name, stored)?;
        zip.write_all(data)?;
        Ok(())
    });
    match written.and_then(|()| zip.finish()) {
        Ok(cursor) => cursor.into_inner(),
        Err(e) => {
            tracing::error!(error = %e, "ODS archive could not be written");
            Vec::new()
        }
    }
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
    }
}
