//! Bar charts drawn on the server as inline SVG: no script, no chart library, nothing from
//! another origin, a few hundred bytes each. Each chart is an image with a title and a short
//! description for screen readers; the page puts the same figures in a table beside it.
//!
//! Why by hand: `plotters` (with its SVG backend) and `charts-rs` draw fine charts, but pull
//! in font handling and dozens of crates for what is, here, a row of rectangles with labels;
//! and neither lets us set `role`, `<title>` and `aria-labelledby` the way the audit wants.

use std::fmt::Write;

/// One bar: its label (already in the reader's language) and its value.
pub(crate) struct Bar {
    /// Label under or beside the bar.
    pub(crate) label: String,
    /// Value.
    pub(crate) value: u64,
}

/// Escapes text for SVG/XML content and attributes.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const ROW: u32 = 26;
const LABEL_WIDTH: u32 = 230;
const WIDTH: u32 = 560;

/// Horizontal bars, one per row (for channels, modes, weekdays, ratings): `id` makes the
/// title's id unique on the page.
pub(crate) fn bars(id: &str, title: &str, bars: &[Bar]) -> String {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let height = ROW * u32::try_from(bars.len()).unwrap_or(0) + 8;
    let plot = WIDTH - LABEL_WIDTH - 60;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" role="img" aria-labelledby="{id}-t" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title id="{id}-t">{}</title>"#,
        escape(title)
    );
    for (i, b) in bars.iter().enumerate() {
        let y = ROW * u32::try_from(i).unwrap_or(0) + 4;
        let w = u32::try_from(u128::from(b.value) * u128::from(plot) / u128::from(max)).unwrap_or(plot);
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text><rect x="{LABEL_WIDTH}" y="{y}" width="{w}" height="{}"/><text x="{}" y="{}">{}</text>"#,
            LABEL_WIDTH - 6,
            y + 15,
            escape(&b.label),
            ROW - 8,
            LABEL_WIDTH + w + 6,
            y + 15,
            b.value
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Vertical columns (for the 24 hours of the day): labels every `every` columns.
pub(crate) fn columns(id: &str, title: &str, bars: &[Bar], every: usize) -> String {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let n = u32::try_from(bars.len()).unwrap_or(1).max(1);
    let step = (WIDTH - 20) / n;
    let plot: u32 = 120;
    let height = plot + 30;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" role="img" aria-labelledby="{id}-t" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title id="{id}-t">{}</title>"#,
        escape(title)
    );
    for (i, b) in bars.iter().enumerate() {
        let x = 10 + step * u32::try_from(i).unwrap_or(0);
        let h = u32::try_from(u128::from(b.value) * u128::from(plot) / u128::from(max)).unwrap_or(plot);
        let _ = write!(
            svg,
            r#"<rect x="{}" y="{}" width="{}" height="{h}"/>"#,
            x + 1,
            4 + plot - h,
            step.saturating_sub(2)
        );
        if every > 0 && i % every == 0 {
            let _ = write!(
                svg,
                r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
                x + step / 2,
                plot + 22,
                escape(&b.label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_a_titled_image_with_its_labels_escaped() {
        let svg = bars(
            "c1",
            "Prenotazioni <per> canale",
            &[Bar { label: "Pagina & web".into(), value: 3 }, Bar { label: "API".into(), value: 0 }],
        );
        assert!(svg.starts_with(r#"<svg class="chart" role="img" aria-labelledby="c1-t""#), "{svg}");
        assert!(svg.contains(r#"<title id="c1-t">Prenotazioni &lt;per&gt; canale</title>"#));
        assert!(svg.contains("Pagina &amp; web"));
        assert!(!svg.contains("<script"));
        assert_eq!(svg.matches("<rect").count(), 2);
    }

    #[test]
    fn an_empty_chart_draws_no_bar_and_does_not_divide_by_zero() {
        let svg = columns("h", "Ore", &[Bar { label: "0".into(), value: 0 }], 1);
        assert!(svg.contains(r#"height="0""#));
    }
}
