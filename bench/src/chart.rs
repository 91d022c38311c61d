//! The chart: requests per second per case, one bar per contender, as a plain SVG.

use std::fmt::Write;

use crate::{Case, Measured, CONTENDERS};

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 380.0;
const LEFT: f64 = 70.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;
const COLORS: [&str; 3] = ["#2f7ed8", "#d9534f", "#9e9e9e"];

/// A round axis maximum at or above `max`: 1, 2 or 5 times a power of ten.
fn axis_max(max: f64) -> f64 {
    let power = 10f64.powf(max.max(1.0).log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|step| step * power)
        .find(|top| *top >= max)
        .unwrap_or(10.0 * power)
}

pub fn svg(results: &[(&Case, [Measured; 3])]) -> String {
    let rates: Vec<[f64; 3]> = results
        .iter()
        .map(|(_, measured)| measured.each_ref().map(|m| m.median(|run| run.rate())))
        .collect();
    let top = axis_max(rates.iter().flatten().copied().fold(0.0, f64::max));
    let plot_height = HEIGHT - TOP - BOTTOM;
    let plot_width = WIDTH - LEFT - 20.0;
    let group = plot_width / results.len().max(1) as f64;
    let bar = group / 4.0;
    let y = |value: f64| TOP + plot_height * (1.0 - value / top);

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="20" font-size="15" font-weight="bold">Requests per second, one worker each (higher is better)</text>"#
    );
    for (i, (name, color)) in CONTENDERS.iter().zip(COLORS).enumerate() {
        let x = LEFT + i as f64 * 190.0;
        let _ = writeln!(
            out,
            r#"<rect x="{x}" y="30" width="12" height="12" fill="{color}"/><text x="{}" y="40">{name}</text>"#,
            x + 16.0
        );
    }
    for tick in 0..=5 {
        let value = top * f64::from(tick) / 5.0;
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" x2="{}" y1="{y0:.1}" y2="{y0:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{value:.0}</text>"##,
            WIDTH - 20.0,
            LEFT - 6.0,
            y(value) + 4.0,
            y0 = y(value),
        );
    }
    for (i, ((case, _), rates)) in results.iter().zip(&rates).enumerate() {
        let start = LEFT + i as f64 * group + bar / 2.0;
        for (j, (rate, color)) in rates.iter().zip(COLORS).enumerate() {
            let x = start + j as f64 * bar;
            let _ = writeln!(
                out,
                r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{color}"><title>{} {}: {rate:.0} req/s</title></rect>"#,
                y(*rate),
                bar - 2.0,
                plot_height * rate / top,
                case.name,
                CONTENDERS[j],
            );
        }
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            start + 1.5 * bar,
            HEIGHT - BOTTOM + 18.0,
            case.name
        );
        if rates[1] > 0.0 {
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{}" text-anchor="middle" fill="{}">{:.2}x</text>"#,
                start + 1.5 * bar,
                HEIGHT - BOTTOM + 34.0,
                COLORS[0],
                rates[0] / rates[1]
            );
        }
    }
    let _ = writeln!(
        out,
        r##"<text x="{LEFT}" y="{}" fill="#555">under each case: ours / actix-session</text>"##,
        HEIGHT - 8.0
    );
    out.push_str("</svg>\n");
    out
}
