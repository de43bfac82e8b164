//! UiPath event files: NDJSON, plain or gzip, or standard input, read a chunk of whole
//! lines at a time on a thread of its own and committed as they are decoded.

use std::collections::HashMap;
use std::io::BufRead;
use std::time::{Duration, Instant};

use botlake_lake::Lake;

use super::{Batcher, Decoded, commit};
use crate::decode::escape_invalid_utf8;
use crate::progress::{Event, Observer};
use crate::{Error, Result};

/// What a file ingest did.
#[derive(Debug, Clone, Default)]
pub struct FileSummary {
    /// Lines read (blank ones not counted).
    pub lines: u64,
    /// Bytes read (after decompression).
    pub bytes: u64,
    /// Events decoded, per table.
    pub events: HashMap<&'static str, u64>,
    /// Rows new to their table, per table.
    pub inserted: HashMap<&'static str, u64>,
    /// Lines rejected.
    pub rejected: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// When a file ingest commits: as soon as either many events, or events of this many
/// bytes of text, wait. The bytes bound memory when events are large (a queue item with a
/// big `SpecificData`), the events when they are small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitEvery {
    /// Events.
    pub events: usize,
    /// Bytes of their lines.
    pub bytes: u64,
}

impl Default for CommitEvery {
    fn default() -> CommitEvery {
        CommitEvery {
            events: 50_000,
            bytes: 64 << 20,
        }
    }
}

/// Reads NDJSON events from `reader` (named `name` in rejects) into `lake`, committing
/// as `every` says. The reading (and gzip decoding) happens on a thread of its own, ahead
/// of the decoding, so that a read that waits (standard input) never holds up the task
/// that runs this.
pub async fn ingest_reader(
    lake: &Lake,
    reader: Box<dyn BufRead + Send>,
    name: &str,
    tenant: Option<String>,
    every: CommitEvery,
    observer: &dyn Observer,
    summary: &mut FileSummary,
) -> Result<()> {
    let started = Instant::now();
    let mut batcher = Batcher::new(tenant);
    let mut chunks = read_chunks(reader);
    let mut number = 0u64;
    // Bytes of the lines the batcher holds.
    let mut waiting = 0u64;
    while let Some(chunk) = chunks.recv().await {
        let chunk = match chunk.map_err(|source| Error::Read {
            input: name.to_string(),
            source,
        })? {
            Chunk::Lines(lines) => lines,
            Chunk::Cut { head, bytes, error } => {
                number += 1;
                summary.bytes += bytes;
                summary.lines += 1;
                summary.rejected += 1;
                let raw = if head.is_empty() {
                    format!("(the input ended here: {error})")
                } else {
                    escape_invalid_utf8(&head)
                };
                batcher.reject(
                    raw,
                    format!(
                        "the input ends here in an error ({error}): this line is cut off, \
                         and whatever followed it is lost; the lines before it are kept"
                    ),
                    format!("{name}:{number}"),
                );
                continue;
            }
            Chunk::TooLong { head, bytes } => {
                number += 1;
                summary.bytes += bytes;
                summary.lines += 1;
                summary.rejected += 1;
                batcher.reject(
                    format!("{}...", escape_invalid_utf8(&head)),
                    format!(
                        "a line of {bytes} bytes, longer than the {} MiB an event may take \
                         (its first {} bytes are kept)",
                        MAX_LINE >> 20,
                        head.len()
                    ),
                    format!("{name}:{number}"),
                );
                continue;
            }
        };
        let read = chunk.len() as u64;
        for line in chunk.split_inclusive(|b| *b == b'\n') {
            number += 1;
            summary.bytes += line.len() as u64;
            let decoded = match std::str::from_utf8(line) {
                Ok(text) => {
                    let text = text.trim();
                    if text.is_empty() {
                        continue;
                    }
                    batcher.push(text, || format!("{name}:{number}"))
                }
                // Not UTF-8: rejected, its bytes kept (each invalid one as \xNN).
                Err(e) => batcher.reject(
                    escape_invalid_utf8(line.trim_ascii()),
                    format!("not UTF-8: {e}"),
                    format!("{name}:{number}"),
                ),
            };
            summary.lines += 1;
            match decoded {
                Decoded::Event(route) => {
                    *summary.events.entry(route.table().name).or_default() += 1;
                }
                Decoded::Rejected => summary.rejected += 1,
            }
            waiting += line.len() as u64;
            if batcher.len() >= every.events || waiting >= every.bytes {
                flush(lake, &mut batcher, observer, summary).await?;
                waiting = 0;
            }
        }
        observer.on(Event::Read { bytes: read });
    }
    flush(lake, &mut batcher, observer, summary).await?;
    summary.elapsed += started.elapsed();
    Ok(())
}

/// The longest line an event may take, as long as the longest body `listen` takes: a
/// longer one (a file with no line ends, say) is rejected without being held whole.
pub const MAX_LINE: usize = 64 << 20;

/// Bytes of an over-long line kept in `rejected_records`, to tell what it was.
const LONG_LINE_HEAD: usize = 4096;

/// What [`read_chunks`] hands over.
enum Chunk {
    /// Whole lines.
    Lines(Vec<u8>),
    /// A line longer than [`MAX_LINE`]: its first bytes, and how long it was.
    TooLong { head: Vec<u8>, bytes: u64 },
    /// The input failed (a gzip stream cut short, a disk error) within this line, or
    /// right after the last whole one (then `head` is empty): what was read of it (its
    /// first bytes), how long that was, and the error. Nothing follows.
    Cut {
        head: Vec<u8>,
        bytes: u64,
        error: String,
    },
}

/// Whole lines of `reader`, about a MiB at a time, read on a blocking thread; a read error
/// ends them. Dropping the receiver stops the thread at its next chunk.
fn read_chunks(
    reader: Box<dyn BufRead + Send>,
) -> tokio::sync::mpsc::Receiver<std::io::Result<Chunk>> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let mut lines = Lines::new(reader);
        loop {
            let (message, last) = match lines.next_chunk() {
                Ok(Some(chunk)) => (Ok(chunk), false),
                Ok(None) => return,
                Err(e) => (Err(e), true),
            };
            if tx.blocking_send(message).is_err() || last {
                return;
            }
        }
    });
    rx
}

/// A reader cut into chunks of whole lines.
struct Lines {
    reader: Box<dyn BufRead + Send>,
    /// Lines read and not handed over, then the start of the next.
    chunk: Vec<u8>,
    /// Where in `chunk` the line being read starts.
    line: usize,
    /// The error the input failed with, once it has: the whole lines before it go first,
    /// then the line it cut, then nothing.
    failed: Option<std::io::Error>,
    /// Whether the input has ended (in an error or not).
    ended: bool,
}

impl Lines {
    /// About this much a chunk.
    const CHUNK: usize = 1 << 20;

    fn new(reader: Box<dyn BufRead + Send>) -> Lines {
        Lines {
            reader,
            chunk: Vec::with_capacity(Self::CHUNK + (Self::CHUNK >> 2)),
            line: 0,
            failed: None,
            ended: false,
        }
    }

    /// The line the input failed in, with the error.
    fn cut(&mut self, error: &std::io::Error) -> Chunk {
        let rest = std::mem::take(&mut self.chunk);
        self.line = 0;
        Chunk::Cut {
            head: rest[..LONG_LINE_HEAD.min(rest.len())].to_vec(),
            bytes: rest.len() as u64,
            error: error.to_string(),
        }
    }

    /// The next chunk of whole lines (the last may lack its line end), or an over-long
    /// line; none at the end.
    fn next_chunk(&mut self) -> std::io::Result<Option<Chunk>> {
        if let Some(error) = self.failed.take() {
            return Ok(Some(self.cut(&error)));
        }
        if self.ended {
            return Ok(None);
        }
        loop {
            // Never more of a line than one byte past the longest.
            let room = MAX_LINE + 1 - (self.chunk.len() - self.line);
            let next = match next_piece(self.reader.as_mut(), room) {
                Ok(next) => next,
                Err(error) => {
                    self.ended = true;
                    if self.line == 0 {
                        return Ok(Some(self.cut(&error)));
                    }
                    self.failed = Some(error);
                    return Ok(Some(self.hand_over()));
                }
            };
            let Some((piece, ends_line)) = next else {
                self.ended = true;
                self.line = 0;
                let rest = std::mem::take(&mut self.chunk);
                return Ok((!rest.is_empty()).then_some(Chunk::Lines(rest)));
            };
            self.chunk.extend_from_slice(piece);
            let taken = piece.len();
            self.reader.consume(taken);
            if ends_line {
                self.line = self.chunk.len();
                if self.chunk.len() >= Self::CHUNK {
                    return Ok(Some(self.hand_over()));
                }
            } else if self.chunk.len() - self.line > MAX_LINE {
                // Whole lines before it first; the long one next time.
                if self.line > 0 {
                    return Ok(Some(self.hand_over()));
                }
                return self.skip_long_line().map(Some);
            }
        }
    }

    /// The whole lines of the chunk, the start of the next line kept.
    fn hand_over(&mut self) -> Chunk {
        let mut next = Vec::with_capacity(Self::CHUNK + (Self::CHUNK >> 2));
        next.extend_from_slice(&self.chunk[self.line..]);
        self.chunk.truncate(self.line);
        self.line = 0;
        Chunk::Lines(std::mem::replace(&mut self.chunk, next))
    }

    /// The line `chunk` starts, read to its end without being kept.
    fn skip_long_line(&mut self) -> std::io::Result<Chunk> {
        let mut bytes = self.chunk.len() as u64;
        let head = self.chunk[..LONG_LINE_HEAD.min(self.chunk.len())].to_vec();
        self.chunk.clear();
        while let Some((piece, ends_line)) = next_piece(self.reader.as_mut(), usize::MAX)? {
            let taken = piece.len();
            bytes += taken as u64;
            self.reader.consume(taken);
            if ends_line {
                break;
            }
        }
        Ok(Chunk::TooLong { head, bytes })
    }
}

/// What `reader` holds next, up to and with the next line end and `room` bytes at most,
/// not consumed, and whether it ends a line; none at the end of the input.
fn next_piece(
    reader: &mut (dyn BufRead + Send),
    room: usize,
) -> std::io::Result<Option<(&[u8], bool)>> {
    // Filled once more past an interruption; the second call only hands over the buffer.
    loop {
        match reader.fill_buf() {
            Ok(_) => break,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let buf = reader.fill_buf()?;
    if buf.is_empty() {
        return Ok(None);
    }
    Ok(Some(match memchr::memchr(b'\n', buf) {
        Some(i) if i < room => (&buf[..=i], true),
        _ => (&buf[..buf.len().min(room)], false),
    }))
}

async fn flush(
    lake: &Lake,
    batcher: &mut Batcher,
    observer: &dyn Observer,
    summary: &mut FileSummary,
) -> Result<()> {
    if batcher.is_empty() {
        return Ok(());
    }
    let committed = commit(lake, batcher, observer).await?;
    for (table, stats) in committed.tables {
        *summary.inserted.entry(table).or_default() += stats.inserted;
    }
    Ok(())
}

/// Opens an NDJSON file, plain or gzip (told by its first bytes), or standard input for `-`.
pub fn open_ndjson(path: &str) -> std::io::Result<Box<dyn BufRead + Send>> {
    let raw: Box<dyn std::io::Read + Send> = if path == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path)?)
    };
    let mut reader = std::io::BufReader::with_capacity(1 << 20, raw);
    let gzip = reader.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let mut reader: Box<dyn BufRead + Send> = if gzip {
        Box::new(std::io::BufReader::with_capacity(
            1 << 20,
            flate2::bufread::MultiGzDecoder::new(reader),
        ))
    } else {
        Box::new(reader)
    };
    let start = reader.fill_buf()?;
    if let Some(mistake) = not_ndjson(start) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            mistake,
        ));
    }
    // A byte-order mark is no part of the first event.
    if start.starts_with(b"\xEF\xBB\xBF") {
        reader.consume(3);
    }
    Ok(reader)
}

/// What a file starting with `start` is, if it is plainly not NDJSON: a JSON array (one
/// event a line is what the export writes), or not text at all. Each of its lines would
/// be rejected one by one; the file is refused whole instead, with nothing of it read.
fn not_ndjson(start: &[u8]) -> Option<String> {
    let text = start.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(start);
    match text.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => Some(
            "it holds one JSON array, not NDJSON (one event a line); \
             `jq -c '.[]' FILE > FILE.ndjson` writes its events so"
                .into(),
        ),
        _ if text
            .iter()
            .take(4096)
            .any(|b| b.is_ascii_control() && !b.is_ascii_whitespace()) =>
        {
            Some(
                "it is not text (Parquet, Avro or another binary format?): NDJSON is one JSON \
                 event a line, plain or gzip"
                    .into(),
            )
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uipath::tests::JOB;

    #[test]
    fn lines_come_whole_and_an_over_long_one_is_skipped_not_held() {
        let mut text = b"a\nb".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_LINE));
        text.extend_from_slice(b"\nc\nd");
        let mut lines = Lines::new(Box::new(std::io::Cursor::new(text)));
        let mut got = Vec::new();
        while let Some(chunk) = lines.next_chunk().unwrap() {
            got.push(match chunk {
                // Short, so that a failure does not print 64 MiB.
                Chunk::Lines(l) if l.len() > 100 => format!("lines of {} bytes", l.len()),
                Chunk::Lines(l) => String::from_utf8(l).unwrap(),
                Chunk::TooLong { head, bytes } => format!("long {} {bytes}", head.len()),
                Chunk::Cut { error, .. } => format!("cut: {error}"),
            });
        }
        let long = format!("long {LONG_LINE_HEAD} {}", MAX_LINE + 2);
        assert_eq!(got, ["a\n".to_string(), long, "c\nd".to_string()]);
    }

    // Regression: a gzip file cut in the middle ("incomplete deflate stream") committed
    // nothing: the whole lines before the cut are kept now, and the cut line rejected.
    #[test]
    fn a_gzip_stream_cut_short_keeps_its_whole_lines_and_says_where_it_broke() {
        use std::io::Write;
        let text: String = (0..2000).map(|i| format!("{{\"line\":{i}}}\n")).collect();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.as_bytes()).unwrap();
        let whole = gz.finish().unwrap();
        let cut = whole[..whole.len() * 2 / 3].to_vec();
        let reader = std::io::BufReader::new(flate2::bufread::MultiGzDecoder::new(
            std::io::Cursor::new(cut),
        ));
        let mut lines = Lines::new(Box::new(reader));
        let (mut kept, mut cuts) = (Vec::new(), Vec::new());
        while let Some(chunk) = lines.next_chunk().unwrap() {
            match chunk {
                Chunk::Lines(l) => kept.extend(l),
                Chunk::Cut { head, error, .. } => cuts.push((head, error)),
                Chunk::TooLong { .. } => panic!("no line is long"),
            }
        }
        assert_eq!(cuts.len(), 1, "one cut, at the end");
        let (head, error) = &cuts[0];
        assert!(!error.is_empty());
        // What was kept is whole lines, a prefix of the text, and the cut line follows it.
        let kept = String::from_utf8(kept).unwrap();
        assert!(
            kept.ends_with('\n') && text.starts_with(&kept),
            "{}",
            kept.len()
        );
        assert!(kept.lines().count() > 100, "{}", kept.lines().count());
        let rest = &text[kept.len()..];
        assert!(rest.starts_with(std::str::from_utf8(head).unwrap()));
        assert!(!head.contains(&b'\n'));
    }

    #[test]
    fn files_that_are_plainly_not_ndjson_are_refused_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            p.to_str().unwrap().to_string()
        };
        let refused = |p: String| open_ndjson(&p).err().map(|e| e.to_string());
        let array = refused(path("a.json", format!("\n [{JOB}]").as_bytes())).unwrap();
        assert!(array.contains("one JSON array"), "{array}");
        let binary = refused(path("a.parquet", b"PAR1\x15\x04\x15\x00")).unwrap();
        assert!(binary.contains("not text"), "{binary}");
        // A file of events, with a byte-order mark, an empty file and a first line that is
        // not JSON (rejected on its own as the file is read) open.
        let mut marked = b"\xEF\xBB\xBF".to_vec();
        marked.extend_from_slice(JOB.as_bytes());
        let mut first = String::new();
        open_ndjson(&path("b.ndjson", &marked))
            .unwrap()
            .read_line(&mut first)
            .unwrap();
        assert_eq!(first, JOB);
        assert_eq!(refused(path("c.ndjson", b"")), None);
        assert_eq!(refused(path("d.ndjson", b"garbage\n{}")), None);
    }
}
