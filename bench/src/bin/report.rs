//! Merges the records of the benchmark programs into one table, one JSON file
//! (with the date and the machine) and an SVG chart of the ratios.
//!
//! `report --out DIR FILE.json...` writes `DIR/latest.json` and
//! `DIR/ratios.svg`; `cargo xtask bench` runs it last.

use plotters::prelude::*;
use serde_json::{Value, json};

/// One record, as the programs wrote it.
struct Row {
    name: String,
    peer_name: String,
    ratio: f64,
    target: Option<f64>,
    higher_is_better: bool,
    met: bool,
}

impl Row {
    /// How many times better than the peer (a ratio of 0.5 on a "lower is
    /// better" row is 2× better), so every bar reads the same way.
    fn advantage(&self) -> f64 {
        if self.higher_is_better {
            self.ratio
        } else {
            1.0 / self.ratio
        }
    }

    /// The target on the same scale.
    fn target_advantage(&self) -> Option<f64> {
        self.target
            .map(|t| if self.higher_is_better { t } else { 1.0 / t })
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| "unknown".into(), |k| k.trim().to_string());
    format!("{cpu}, {cores} cores, Linux {kernel}")
}

fn today() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "unknown date".into(), |d| d.trim().to_string())
}

/// A label cut to fit the chart's label area.
fn label(text: &str) -> String {
    const MAX: usize = 90;
    if text.chars().count() <= MAX {
        return text.to_string();
    }
    let cut: String = text.chars().take(MAX - 1).collect();
    format!("{cut}…")
}

fn chart(rows: &[Row], path: &str, caption: &str) -> Result<(), Box<dyn std::error::Error>> {
    let height = 90 + 34 * rows.len() as u32;
    let root = SVGBackend::new(path, (1200, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let (lo, hi) = rows
        .iter()
        .flat_map(|r| [r.advantage(), r.target_advantage().unwrap_or(1.0)])
        .fold((0.5f64, 2.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let (lo, hi) = (lo / 1.5, hi * 1.5);
    let n = rows.len() as i32;
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(560)
        .build_cartesian_2d((lo..hi).log_scale(), (0..n - 1).into_segmented())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows.len())
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => rows
                .get((n - 1 - *i) as usize)
                .map_or(String::new(), |r| label(&format!("{} (vs {})", r.name, r.peer_name))),
            _ => String::new(),
        })
        .x_desc("times better than the peer (log scale); bar: measured (green: target met, red: missed, grey: no target), tick: target")
        .x_label_formatter(&|x| format!("{x:.1}×"))
        .label_style(("sans-serif", 12))
        .draw()?;
    for (i, row) in rows.iter().enumerate() {
        let y = n - 1 - i as i32;
        let colour = match (row.target, row.met) {
            (None, _) => BLACK.mix(0.3),
            (Some(_), true) => GREEN.mix(0.7),
            (Some(_), false) => RED.mix(0.7),
        };
        let (top, bottom) = (SegmentValue::Exact(y), SegmentValue::Exact(y + 1));
        let mut bar = Rectangle::new(
            [(lo, top.clone()), (row.advantage(), bottom.clone())],
            colour.filled(),
        );
        bar.set_margin(4, 4, 0, 0);
        chart.draw_series(std::iter::once(bar))?;
        if let Some(t) = row.target_advantage() {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(t, top), (t, bottom)],
                BLACK.stroke_width(3),
            )))?;
        }
    }
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(1.0, SegmentValue::Exact(0)), (1.0, SegmentValue::Exact(n))],
        BLUE.stroke_width(1),
    )))?;
    root.present()?;
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| ".".into());
    let inputs: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| *a != "--out" && (*i == 0 || args[i - 1] != "--out"))
        .map(|(_, a)| a)
        .collect();
    let mut records = Vec::new();
    for input in inputs {
        let text = std::fs::read_to_string(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        let parsed: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{input}: {e}"));
        records.extend(parsed.as_array().cloned().unwrap_or_default());
    }
    let rows: Vec<Row> = records
        .iter()
        .map(|r| Row {
            name: r["name"].as_str().unwrap_or("?").into(),
            peer_name: r["peer_name"].as_str().unwrap_or("?").into(),
            ratio: r["ratio"].as_f64().unwrap_or(f64::NAN),
            target: r["target"].as_f64(),
            higher_is_better: r["higher_is_better"].as_bool().unwrap_or(true),
            met: r["met"].as_bool().unwrap_or(false),
        })
        .filter(|r| r.ratio.is_finite() && r.ratio > 0.0)
        .collect();
    let (date, machine) = (today(), machine());
    println!("\nsmtp-proto benchmarks, {date}, {machine}\n");
    println!(
        "{:<52} {:>13} {:>13} {:<11} {:>7} {:>8}  peer",
        "measure", "ours", "peer", "unit", "ratio", "target"
    );
    for r in &records {
        let target = r["target"].as_f64().map_or("-".to_string(), |t| {
            let sign = if r["higher_is_better"].as_bool().unwrap_or(true) {
                "≥"
            } else {
                "≤"
            };
            format!("{sign}{t}")
        });
        println!(
            "{:<52} {:>13.1} {:>13.1} {:<11} {:>7.2} {:>8}  {}{}",
            r["name"].as_str().unwrap_or("?"),
            r["ours"].as_f64().unwrap_or(f64::NAN),
            r["peer"].as_f64().unwrap_or(f64::NAN),
            r["unit"].as_str().unwrap_or(""),
            r["ratio"].as_f64().unwrap_or(f64::NAN),
            target,
            r["peer_name"].as_str().unwrap_or("?"),
            if r["met"].as_bool().unwrap_or(true) {
                ""
            } else {
                "  (target missed)"
            },
        );
    }
    let met = rows.iter().filter(|r| r.met).count();
    println!("\n{met} of {} targets met", rows.len());
    std::fs::create_dir_all(&out).expect("the output directory");
    let json = json!({ "date": date, "machine": machine, "records": records });
    let json_path = format!("{out}/latest.json");
    std::fs::write(
        &json_path,
        serde_json::to_string_pretty(&json).expect("JSON") + "\n",
    )
    .expect("write the JSON");
    let svg_path = format!("{out}/ratios.svg");
    let caption = format!("smtp-proto vs peers, {date} ({machine})");
    if let Err(e) = chart(&rows, &svg_path, &caption) {
        eprintln!("report: chart: {e}");
        std::process::exit(1);
    }
    println!("wrote {json_path} and {svg_path}");
}
