//! The README as a user reads it: its view catalogue is what `botlake views --markdown`
//! writes from the views' own files, so that it cannot drift from them.

use crate::common::{botlake_env, stderr, stdout};

const BEGIN: &str = "<!-- catalogue: begin";
const END: &str = "<!-- catalogue: end -->";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_view_catalogue_is_the_views_own() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let begin = readme
        .find(BEGIN)
        .expect("the README has the catalogue's begin marker");
    let begin = begin + readme[begin..].find('\n').unwrap() + 1;
    let end = readme
        .find(END)
        .expect("the README has the catalogue's end marker");
    let out = botlake_env(&["views", "--markdown"], &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        readme[begin..end].trim_end(),
        stdout(&out).trim_end(),
        "the README's view catalogue is out of date: write it again with \
         `botlake views --markdown` between its markers"
    );
}

/// The shell lines of the code blocks of the README's section `heading`, a line continued
/// with `\` joined to the next.
fn shell_lines(readme: &str, heading: &str) -> Vec<String> {
    let start = readme
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("the README has a section {heading}"));
    let section = &readme[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |e| e + 3)];
    let mut lines = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in section.lines() {
        if line.starts_with("```") {
            in_sh = line == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(start) => pending.push_str(start),
            None => {
                pending.push_str(line);
                lines.push(std::mem::take(&mut pending));
            }
        }
    }
    lines
}

// Issue 31: the README's tour and ingest examples work as printed: `botlake demo`, then
// each shell line of the two sections, run by bash in a fresh directory with the built
// `botlake` on the PATH (the simulator on a free port instead of 8080).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readmes_tour_runs_as_printed() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let mut script = vec![
        "set -e".to_string(),
        "trap 'kill $(jobs -p) 2>/dev/null' EXIT".to_string(),
        "botlake demo > /dev/null".to_string(),
    ];
    for heading in ["A five-minute tour", "Ingesting from a Control Room"] {
        let lines = shell_lines(&readme, heading);
        assert!(lines.len() >= 4, "{heading}: {lines:?}");
        script.extend(lines.iter().map(|l| l.replace("8080", &port)));
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_botlake"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(script.join("\n"))
        .current_dir(dir.path())
        .env("PATH", path)
        .env("HOME", dir.path())
        .env_remove("BOTLAKE_LAKE")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}\n{}",
        script.join("\n"),
        stdout(&out),
        stderr(&out)
    );
    // The tour's query wrote its Parquet file and its report, and the ingest its lake.
    assert!(dir.path().join("kpi.parquet").exists());
    let report = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(
        report.contains("<svg class=\"chart\""),
        "the tour's report has charts"
    );
    assert!(stdout(&out).contains("| Finance"), "{}", stdout(&out));
}
