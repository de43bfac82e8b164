//! Charts as inline SVG: bars and lines over days, horizontal bars, a heat map. Colours are
//! CSS classes (`c0`…`c6`, the Okabe–Ito palette, `c7` a neutral grey, in the page's style),
//! so that a theme or a printer changes them in one place; text takes the page's foreground
//! colour.

use std::fmt::Write;

use chrono::NaiveDate;

use super::{Num, esc};

/// Width of every chart, in SVG units (it scales to the page).
const WIDTH: f64 = 880.0;
/// Room for the value axis's labels and title, left of the plot.
const LEFT: f64 = 76.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 12.0;
/// Room for the day labels and the axis title, under the plot.
const BOTTOM: f64 = 46.0;

/// One series of a chart: its name (for the legend and tooltips), its colour (a palette
/// index) and a value per day or label (`None`: nothing there).
pub struct Series {
    pub name: String,
    pub colour: usize,
    pub values: Vec<Option<f64>>,
}

/// Round steps for an axis from 0 to at least `max`: the ticks and the axis's end.
fn ticks(max: f64) -> (Vec<f64>, f64) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let rough = max / 5.0;
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * power);
    let count = (max / step).ceil().max(1.0) as usize;
    let ticks = (0..=count).map(|i| i as f64 * step).collect();
    (ticks, count as f64 * step)
}

/// The opening of a chart of `height` units, titled `title` for screen readers.
fn open(out: &mut String, height: f64, title: &str) {
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{t}"><title>{t}</title>"#,
        t = esc(title)
    );
}

/// The value axis, left: grid lines at the ticks, their labels, and the axis's title.
fn value_axis(out: &mut String, plot_h: f64, ticks: &[f64], end: f64, num: Num, label: &str) {
    let step = ticks.get(1).copied().unwrap_or(end);
    for &t in ticks {
        let y = TOP + plot_h - t / end * plot_h;
        let _ = write!(
            out,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="tick" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            esc(&num.axis(t, step))
        );
    }
    let _ = write!(
        out,
        r#"<text class="label" transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        TOP + plot_h / 2.0,
        esc(label)
    );
}

/// The day axis, under the plot: at most about twelve labels, evenly spaced.
fn day_axis(out: &mut String, plot_h: f64, days: &[NaiveDate], band: f64) {
    let every = days.len().div_ceil(12).max(1);
    let y = TOP + plot_h;
    let _ = write!(
        out,
        r#"<line class="axis" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/>"#,
        WIDTH - RIGHT
    );
    for (i, day) in days.iter().enumerate().step_by(every) {
        let x = LEFT + (i as f64 + 0.5) * band;
        let _ = write!(
            out,
            r#"<text class="tick" x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            y + 16.0,
            day.format("%b %d")
        );
    }
    let _ = write!(
        out,
        r#"<text class="label" x="{:.1}" y="{:.1}" text-anchor="middle">Day (start of the run)</text>"#,
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        y + 38.0
    );
}

/// Bars per day, the series stacked; `label` names the value axis, with its unit.
pub fn day_bars(
    title: &str,
    days: &[NaiveDate],
    series: &[Series],
    label: &str,
    num: Num,
) -> String {
    let plot_h = 220.0;
    let mut out = String::new();
    open(&mut out, TOP + plot_h + BOTTOM, title);
    let totals: Vec<f64> = (0..days.len())
        .map(|i| series.iter().filter_map(|s| s.values[i]).sum())
        .collect();
    let (ticks, end) = ticks(totals.iter().copied().fold(0.0, f64::max));
    value_axis(&mut out, plot_h, &ticks, end, num, label);
    let band = (WIDTH - LEFT - RIGHT) / days.len().max(1) as f64;
    for (i, day) in days.iter().enumerate() {
        let mut base = 0.0;
        for s in series {
            let Some(v) = s.values[i].filter(|v| *v > 0.0) else {
                continue;
            };
            let y = TOP + plot_h - (base + v) / end * plot_h;
            let h = v / end * plot_h;
            base += v;
            let _ = write!(
                out,
                r#"<rect class="c{}" x="{:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}"><title>{day}, {}: {}</title></rect>"#,
                s.colour,
                LEFT + i as f64 * band + band * 0.1,
                band * 0.8,
                esc(&s.name),
                esc(&num.full(v))
            );
        }
    }
    day_axis(&mut out, plot_h, days, band);
    out.push_str("</svg>");
    out
}

/// Lines per day, one per series; the value axis ends at `max` at least.
pub fn day_lines(
    title: &str,
    days: &[NaiveDate],
    series: &[Series],
    label: &str,
    num: Num,
    max: f64,
) -> String {
    let plot_h = 200.0;
    let mut out = String::new();
    open(&mut out, TOP + plot_h + BOTTOM, title);
    let highest = series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .copied()
        .fold(max, f64::max);
    let (ticks, end) = ticks(highest);
    value_axis(&mut out, plot_h, &ticks, end, num, label);
    let band = (WIDTH - LEFT - RIGHT) / days.len().max(1) as f64;
    let point = |i: usize, v: f64| {
        (
            LEFT + (i as f64 + 0.5) * band,
            TOP + plot_h - v / end * plot_h,
        )
    };
    for s in series {
        // A day without a value breaks the line.
        let mut path = String::new();
        let mut pen_down = false;
        for (i, v) in s.values.iter().enumerate() {
            match v {
                Some(v) => {
                    let (x, y) = point(i, *v);
                    let _ = write!(path, "{}{x:.1} {y:.1} ", if pen_down { "L" } else { "M" });
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        let _ = write!(
            out,
            r#"<path class="line s{}" d="{}"/>"#,
            s.colour,
            path.trim_end()
        );
        for (i, v) in s.values.iter().enumerate() {
            if let Some(v) = v {
                let (x, y) = point(i, *v);
                let _ = write!(
                    out,
                    r#"<circle class="c{}" cx="{x:.1}" cy="{y:.1}" r="2.5"><title>{}, {}: {}</title></circle>"#,
                    s.colour,
                    days[i],
                    esc(&s.name),
                    esc(&num.full(*v))
                );
            }
        }
    }
    day_axis(&mut out, plot_h, days, band);
    out.push_str("</svg>");
    out
}

/// How wide a chart is: the page's width, or half of it (two side by side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    Full,
    Half,
}

/// Horizontal bars, one group per label, a bar per series in each; `label` names the value
/// axis, with its unit.
pub fn hbars(
    title: &str,
    labels: &[String],
    series: &[Series],
    label: &str,
    num: Num,
    width: Width,
) -> String {
    let (chart_w, left, chars) = match width {
        Width::Full => (WIDTH, 260.0, 40),
        Width::Half => (WIDTH / 2.0, 170.0, 22),
    };
    let bar = 14.0;
    let group = bar * series.len() as f64 + 8.0;
    let plot_h = group * labels.len() as f64;
    let height = TOP + plot_h + 40.0;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {chart_w} {height}" role="img" aria-label="{t}"><title>{t}</title>"#,
        t = esc(title)
    );
    let highest = series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .copied()
        .fold(0.0, f64::max);
    let (ticks, end) = ticks(highest);
    let plot_w = chart_w - left - RIGHT - 64.0;
    let step = ticks.get(1).copied().unwrap_or(end);
    for &t in &ticks {
        let x = left + t / end * plot_w;
        let _ = write!(
            out,
            r#"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{:.1}"/><text class="tick" x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            TOP + plot_h,
            TOP + plot_h + 14.0,
            esc(&num.axis(t, step))
        );
    }
    let _ = write!(
        out,
        r#"<text class="label" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        left + plot_w / 2.0,
        TOP + plot_h + 34.0,
        esc(label)
    );
    for (i, name) in labels.iter().enumerate() {
        let y0 = TOP + i as f64 * group + 4.0;
        let _ = write!(
            out,
            r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 6.0,
            y0 + group / 2.0,
            esc(&shorten(name, chars))
        );
        for (j, s) in series.iter().enumerate() {
            let Some(v) = s.values[i] else {
                continue;
            };
            let y = y0 + j as f64 * bar;
            let w = (v / end * plot_w).max(0.0);
            let _ = write!(
                out,
                r#"<rect class="c{}" x="{left}" y="{y:.1}" width="{w:.1}" height="{:.1}"><title>{}, {}: {}</title></rect><text class="value" x="{:.1}" y="{:.1}">{}</text>"#,
                s.colour,
                bar - 2.0,
                esc(name),
                esc(&s.name),
                esc(&num.full(v)),
                left + w + 4.0,
                y + bar - 4.0,
                esc(&num.full(v))
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// A heat map: a row per name, a column per day, each cell shaded by its value between 0
/// and 1 (the value itself in its tooltip; above 1, the darkest shade); `None`: no cell.
pub fn heatmap(
    title: &str,
    rows: &[String],
    days: &[NaiveDate],
    cells: &[Vec<Option<f64>>],
    num: Num,
) -> String {
    let left = 220.0;
    let cell_w = ((WIDTH - left - RIGHT) / days.len().max(1) as f64).min(28.0);
    let cell_h = 16.0;
    let plot_h = cell_h * rows.len() as f64;
    let mut out = String::new();
    open(&mut out, TOP + plot_h + BOTTOM, title);
    for (r, name) in rows.iter().enumerate() {
        let y = TOP + r as f64 * cell_h;
        let _ = write!(
            out,
            r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 6.0,
            y + cell_h - 4.0,
            esc(&shorten(name, 34))
        );
        for (d, day) in days.iter().enumerate() {
            let Some(v) = cells[r][d] else {
                continue;
            };
            let _ = write!(
                out,
                r#"<rect class="h{}" x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}"><title>{}, {day}: {}</title></rect>"#,
                shade(v),
                left + d as f64 * cell_w,
                cell_w - 1.0,
                cell_h - 1.0,
                esc(name),
                esc(&num.full(v))
            );
        }
    }
    let every = days.len().div_ceil(10).max(1);
    for (d, day) in days.iter().enumerate().step_by(every) {
        let _ = write!(
            out,
            r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            left + (d as f64 + 0.5) * cell_w,
            TOP + plot_h + 16.0,
            day.format("%b %d")
        );
    }
    let _ = write!(
        out,
        r#"<text class="label" x="{:.1}" y="{:.1}" text-anchor="middle">Day</text>"#,
        left + cell_w * days.len() as f64 / 2.0,
        TOP + plot_h + 38.0
    );
    out.push_str("</svg>");
    out
}

/// The shade (`h0` lightest … `h5` darkest) of a value from 0 to 1 and above.
pub fn shade(value: f64) -> usize {
    match value {
        v if v < 0.05 => 0,
        v if v < 0.1 => 1,
        v if v < 0.25 => 2,
        v if v < 0.5 => 3,
        v if v < 1.0 => 4,
        _ => 5,
    }
}

/// The bounds of each shade, for the legend.
pub const SHADES: [&str; 6] = [
    "under 5 %",
    "5–10 %",
    "10–25 %",
    "25–50 %",
    "50–100 %",
    "100 % or more",
];

/// `text` cut to `max` characters, with an ellipsis if cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_a_round_number_above_the_highest_value() {
        assert_eq!(ticks(87.0).1, 100.0);
        assert_eq!(ticks(0.93).1, 1.0);
        assert_eq!(ticks(1234.0).1, 1250.0);
        // Nothing to show still gives an axis.
        let (steps, end) = ticks(0.0);
        assert_eq!((steps.len(), end), (6, 1.0));
        assert!(ticks(f64::NAN).1 > 0.0);
    }

    #[test]
    fn shades_cover_every_value() {
        assert_eq!(shade(0.0), 0);
        assert_eq!(shade(0.3), 3);
        assert_eq!(shade(1.0), 5);
        assert_eq!(shade(7.5), 5);
        assert_eq!(SHADES.len(), 6);
    }

    #[test]
    fn names_and_values_are_escaped() {
        let svg = hbars(
            "a <b>",
            &["x & y".to_string()],
            &[Series {
                name: "\"s\"".into(),
                colour: 0,
                values: vec![Some(3.0)],
            }],
            "runs",
            Num::Count,
            Width::Full,
        );
        assert!(
            svg.contains("a &lt;b&gt;")
                && svg.contains("x &amp; y")
                && svg.contains("&quot;s&quot;")
        );
        assert!(!svg.contains("<b>"));
    }
}
