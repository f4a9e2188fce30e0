//! Small SVG charts for the validation report: lines, a labelled scatter, a heatmap.
//! Plain SVG text so the report needs no plotting runtime; every mark also has its number in
//! report.json.

const W: f64 = 640.0;
const H: f64 = 400.0;
const PAD: f64 = 50.0;
/// Colour-blind-safe palette (Okabe–Ito, then Tol's muted).
pub const COLOURS: [&str; 12] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
    "#882255", "#44AA99", "#999933", "#AA4499",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn head(w: f64, h: f64, title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"11\">\
         <rect width=\"{w}\" height=\"{h}\" fill=\"white\"/><text x=\"{}\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n",
        w / 2.0,
        esc(title)
    )
}

struct Scale {
    lo: f64,
    hi: f64,
    a: f64,
    b: f64,
}

impl Scale {
    fn new(values: impl Iterator<Item = f64>, a: f64, b: f64) -> Self {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values.filter(|v| v.is_finite()) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if !lo.is_finite() || hi - lo < 1e-12 {
            (lo, hi) = (lo.min(0.0), lo.max(0.0) + 1.0);
        }
        Self { lo, hi, a, b }
    }
    fn at(&self, v: f64) -> f64 {
        self.a + (v - self.lo) / (self.hi - self.lo) * (self.b - self.a)
    }
}

fn axes(x: &Scale, y: &Scale, x_label: &str, y_label: &str) -> String {
    let mut s = format!(
        "<line x1=\"{PAD}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#444\"/><line x1=\"{PAD}\" y1=\"{PAD}\" x2=\"{PAD}\" y2=\"{0}\" stroke=\"#444\"/>\
         <text x=\"{2}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\
         <text transform=\"translate(14 {5}) rotate(-90)\" text-anchor=\"middle\">{6}</text>\n",
        H - PAD,
        W - PAD,
        W / 2.0,
        H - 12.0,
        esc(x_label),
        H / 2.0,
        esc(y_label)
    );
    for i in 0..=4 {
        let (xv, yv) = (
            x.lo + (x.hi - x.lo) * i as f64 / 4.0,
            y.lo + (y.hi - y.lo) * i as f64 / 4.0,
        );
        s += &format!(
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            x.at(xv),
            H - PAD + 14.0,
            short(xv),
            PAD - 4.0,
            y.at(yv) + 4.0,
            short(yv)
        );
    }
    s
}

fn short(v: f64) -> String {
    if v.abs() >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// Line chart of named series `(x, y)`, with optional dashed horizontal reference lines.
pub fn lines(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(String, Vec<(f64, f64)>)],
    refs: &[(String, f64)],
) -> String {
    let xs = series.iter().flat_map(|s| s.1.iter().map(|p| p.0));
    let ys = series
        .iter()
        .flat_map(|s| s.1.iter().map(|p| p.1))
        .chain(refs.iter().map(|r| r.1));
    let (x, y) = (Scale::new(xs, PAD, W - PAD), Scale::new(ys, H - PAD, PAD));
    let mut s = head(W, H, title) + &axes(&x, &y, x_label, y_label);
    for (name, v) in refs {
        let (x2, yv) = (W - PAD, y.at(*v));
        s += &format!(
            "<line x1=\"{PAD}\" x2=\"{x2}\" y1=\"{yv:.1}\" y2=\"{yv:.1}\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\
             <text x=\"{x2}\" y=\"{:.1}\" fill=\"#666\" text-anchor=\"end\">{}</text>\n",
            yv - 3.0,
            esc(name)
        );
    }
    for (i, (name, pts)) in series.iter().enumerate() {
        let c = COLOURS[i % COLOURS.len()];
        let path: Vec<String> = pts
            .iter()
            .map(|(a, b)| format!("{:.1},{:.1}", x.at(*a), y.at(*b)))
            .collect();
        s += &format!(
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" points=\"{}\"/>\n",
            path.join(" ")
        );
        for (a, b) in pts {
            s += &format!("<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{c}\"><title>{} {}: {}</title></circle>", x.at(*a), y.at(*b), esc(name), short(*a), short(*b));
        }
        s += &format!(
            "<text x=\"{}\" y=\"{}\" fill=\"{c}\">{}</text>\n",
            PAD + 10.0,
            PAD + 14.0 * (i as f64 + 1.0),
            esc(name)
        );
    }
    s + "</svg>\n"
}

/// Scatter of labelled points, coloured by group.
pub fn scatter(
    title: &str,
    x_label: &str,
    y_label: &str,
    points: &[(f64, f64, String, usize)],
) -> String {
    let (x, y) = (
        Scale::new(points.iter().map(|p| p.0), PAD, W - PAD),
        Scale::new(points.iter().map(|p| p.1), H - PAD, PAD),
    );
    let mut s = head(W, H, title) + &axes(&x, &y, x_label, y_label);
    for (a, b, label, g) in points {
        let c = COLOURS[g % COLOURS.len()];
        s += &format!(
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{c}\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"7\" fill=\"{c}\">{}</text>\n",
            x.at(*a),
            y.at(*b),
            x.at(*a) + 4.0,
            y.at(*b) + 2.5,
            esc(label)
        );
    }
    s + "</svg>\n"
}

/// Heatmap of a square matrix `(n, n)` in the given row order, values in [-1, 1].
pub fn heatmap(title: &str, m: &[f32], n: usize, order: &[usize], labels: &[String]) -> String {
    let cell = 4.0;
    let off = 70.0;
    let size = off + cell * n as f64 + 10.0;
    let mut s = head(size, size, title);
    for (i, &a) in order.iter().enumerate() {
        s += &format!(
            "<text x=\"{}\" y=\"{:.1}\" font-size=\"3.5\" text-anchor=\"end\">{}</text>",
            off - 2.0,
            off + cell * i as f64 + 3.5,
            esc(&labels[a])
        );
        for (j, &b) in order.iter().enumerate() {
            let v = m[a * n + b].clamp(-1.0, 1.0);
            // Blue for negative, orange for positive, white at zero (readable without red/green).
            let (r, g, bl) = if v >= 0.0 {
                (255.0, 255.0 - 100.0 * v, 255.0 - 255.0 * v)
            } else {
                (255.0 + 255.0 * v, 255.0 + 141.0 * v, 255.0 + 77.0 * v)
            };
            s += &format!(
                "<rect x=\"{:.0}\" y=\"{:.0}\" width=\"4\" height=\"4\" fill=\"#{:02x}{:02x}{:02x}\"/>",
                off + cell * j as f64,
                off + cell * i as f64,
                r as u8,
                g as u8,
                bl as u8
            );
        }
        s.push('\n');
    }
    s + "</svg>\n"
}
