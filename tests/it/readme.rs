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
