//! Server-side SVG charts for the portal (no script, no library): stacked bars over
//! time and horizontal bars. Every chart is an `<svg role="img">` with a title that
//! says what it shows; the page puts the numbers in a table beside it. Colours are
//! presentation attributes (the portal's CSP allows no inline style).

/// A series' name and colour.
#[derive(Debug, Clone, Copy)]
pub struct Series {
    /// Its name (the legend and the tooltips).
    pub name: &'static str,
    /// Its fill colour.
    pub colour: &'static str,
}

/// Success, failure, interrupted: the colours of the portal's badges, darker for
/// contrast against white.
pub const STATUS: [Series; 3] = [
    Series {
        name: "success",
        colour: "#2e7d4f",
    },
    Series {
        name: "failure",
        colour: "#c0392b",
    },
    Series {
        name: "interrupted",
        colour: "#b7791f",
    },
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Stacked bars: one bar per bucket (`labels[i]`), the series stacked in order.
/// `values[i][k]` is bucket `i`'s count of series `k`.
pub fn stacked_bars(
    title: &str,
    labels: &[String],
    series: &[Series],
    values: &[Vec<u64>],
    width: u32,
    height: u32,
) -> String {
    let max = values
        .iter()
        .map(|v| v.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let (left, bottom, top) = (44.0, 22.0, 8.0);
    let plot_w = f64::from(width) - left - 4.0;
    let plot_h = f64::from(height) - bottom - top;
    let n = labels.len().max(1) as f64;
    let slot = plot_w / n;
    let bar = (slot * 0.8).max(1.0);
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="none" class="chart"><title>{}</title>"#,
        esc(title)
    );
    // Axis: zero and the maximum.
    out.push_str(&format!(
        r##"<line x1="{left}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="#8a90a0" stroke-width="1"/><text x="{tx}" y="{y0}" font-size="10" text-anchor="end" fill="#4f5666">0</text><text x="{tx}" y="{ym}" font-size="10" text-anchor="end" fill="#4f5666">{max}</text>"##,
        y0 = top + plot_h,
        x1 = left + plot_w,
        tx = left - 4.0,
        ym = top + 9.0,
    ));
    for (i, v) in values.iter().enumerate() {
        let x = left + slot * i as f64 + (slot - bar) / 2.0;
        let mut y = top + plot_h;
        for (k, count) in v.iter().enumerate() {
            if *count == 0 {
                continue;
            }
            let h = plot_h * (*count as f64) / (max as f64);
            y -= h;
            let s = series.get(k).copied().unwrap_or(series[0]);
            out.push_str(&format!(
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="{}"><title>{}: {count} {}</title></rect>"#,
                s.colour,
                esc(&labels[i]),
                s.name
            ));
        }
    }
    // A few labels along the bottom: the first, the middle and the last bucket.
    let picks = [0, labels.len() / 2, labels.len().saturating_sub(1)];
    for (j, &i) in picks.iter().enumerate() {
        if i >= labels.len() || (j > 0 && picks[j - 1] == i) {
            continue;
        }
        let x = left + slot * i as f64 + slot / 2.0;
        let anchor = match j {
            0 => "start",
            2 => "end",
            _ => "middle",
        };
        out.push_str(&format!(
            r##"<text x="{x:.1}" y="{}" font-size="10" text-anchor="{anchor}" fill="#4f5666">{}</text>"##,
            f64::from(height) - 6.0,
            esc(&labels[i])
        ));
    }
    out.push_str("</svg>");
    out
}

/// Horizontal bars, one per item, longest first as given.
pub fn hbars(title: &str, items: &[(String, u64)], colour: &str, width: u32) -> String {
    let max = items.iter().map(|i| i.1).max().unwrap_or(0).max(1);
    let row = 20.0;
    let height = (row * items.len().max(1) as f64 + 4.0) as u32;
    let label_w = 70.0;
    let plot_w = f64::from(width) - label_w - 50.0;
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" width="100%" class="chart bars"><title>{}</title>"#,
        esc(title)
    );
    for (i, (label, n)) in items.iter().enumerate() {
        let y = row * i as f64 + 2.0;
        let w = (plot_w * (*n as f64) / (max as f64)).max(1.0);
        out.push_str(&format!(
            r##"<text x="0" y="{ty:.1}" font-size="11" fill="#1d2330">{}</text><rect x="{label_w}" y="{y:.1}" width="{w:.1}" height="14" fill="{colour}"><title>{}: {n}</title></rect><text x="{nx:.1}" y="{ty:.1}" font-size="11" fill="#1d2330">{n}</text>"##,
            esc(label),
            esc(label),
            ty = y + 11.0,
            nx = label_w + w + 4.0,
        ));
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacked_bars_scale_to_the_tallest_bucket_and_escape_text() {
        let labels = vec!["10:00".to_string(), "11:00 <b>".to_string()];
        let svg = stacked_bars(
            "Sign-ins & more",
            &labels,
            &STATUS,
            &[vec![3, 1, 0], vec![0, 0, 0]],
            200,
            100,
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title>Sign-ins &amp; more</title>"));
        assert!(svg.contains("11:00 &lt;b&gt;") && !svg.contains("<b>"));
        // The first bucket fills the plot (70 px: 100 - 22 - 8), split 3:1.
        assert!(svg.contains(r##"height="52.5" fill="#2e7d4f""##), "{svg}");
        assert!(svg.contains(r##"height="17.5" fill="#c0392b""##), "{svg}");
        assert_eq!(svg.matches("<rect").count(), 2, "empty series draw nothing");
        assert!(!svg.contains("style="), "no inline style under the CSP");
    }

    #[test]
    fn horizontal_bars_are_proportional() {
        let svg = hbars(
            "Top",
            &[("PV3010".into(), 10), ("PV4001".into(), 5)],
            "#c0392b",
            300,
        );
        assert!(
            svg.contains(r#"width="180.0""#) && svg.contains(r#"width="90.0""#),
            "{svg}"
        );
    }
}
