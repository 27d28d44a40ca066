//! The audit journal: an append-only, checksummed log of records on local disk.
//!
//! Callers frame their records straight into one shared buffer; one writer thread takes the
//! whole buffer, writes it with one `write` and one `fdatasync`, and wakes the callers. Under
//! load one sync serves every record that arrived while the previous one ran, and a record costs
//! a copy and a checksum rather than a database insert, with no allocation of its own and
//! nothing handed between threads but the buffer. This is what lets every call wait for its
//! record to be durable without the audit write bounding throughput.
//!
//! Layout: segments `<dir>/<sequence number of their first record, 20 digits>.log`. Each record
//! is a frame: body length (u32 LE), CRC-32 of the body (u32 LE), body. Records are numbered
//! from 0 across segments and across resets, so a reader's position stays meaningful. A crash
//! can leave a torn frame only at the end of the newest segment, and nothing from it was
//! acknowledged; opening the journal cuts it off.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use palisade_store::fsutil;
use tokio::sync::{oneshot, watch};

/// A new segment starts once the current one holds this many bytes.
const SEGMENT_BYTES: u64 = 64 << 20;
/// Bytes of a frame before its body.
const FRAME_HEADER: usize = 8;
/// No record is this large; a larger length means a torn or corrupt frame.
const MAX_BODY: u32 = 16 << 20;

/// The journal could not do what was asked; for an append, the record is not durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalError(pub String);

impl std::fmt::Display for JournalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JournalError {}

fn io_error(doing: &str, error: &io::Error) -> JournalError {
    JournalError(format!("audit journal: {doing}: {error}"))
}

/// The journal's write side; cheap to clone. The writer thread stops when the last clone is
/// dropped.
#[derive(Clone)]
pub struct Journal {
    handle: Arc<Handle>,
}

struct Handle {
    dir: PathBuf,
    shared: Arc<Shared>,
    /// The number of records durable so far (the next record's sequence number).
    durable: watch::Receiver<u64>,
    /// Per reader that has not handled every record yet (see [`Journal::hold`]), the first
    /// record it still needs; trimming keeps those.
    holds: Mutex<BTreeMap<String, u64>>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        if let Ok(mut pending) = self.shared.pending.lock() {
            pending.closed = true;
        }
        self.shared.wake.notify_one();
    }
}

/// What callers hand the writer.
struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
}

type Reply<T> = oneshot::Sender<Result<T, JournalError>>;

#[derive(Default)]
struct Pending {
    /// Whole frames, in the order of `waiters`.
    frames: Vec<u8>,
    /// One per frame.
    waiters: Vec<Reply<u64>>,
    controls: Vec<Control>,
    /// The writer waits for work; only then does a caller need to wake it.
    writer_idle: bool,
    closed: bool,
}

enum Control {
    /// Removes the segments whose records all come before the given sequence number.
    Trim(u64, Reply<()>),
    /// Removes every record; numbering continues.
    Reset(Reply<u64>),
}

fn writer_gone() -> JournalError {
    JournalError("audit journal: the writer has stopped".to_owned())
}

impl Journal {
    /// Opens (creating if needed) the journal in `dir`, cutting off a torn tail, and starts its
    /// writer thread.
    pub fn open(dir: &Path) -> Result<Journal, JournalError> {
        fsutil::ensure_private_dir(dir).map_err(|error| JournalError(error.to_string()))?;
        let segments = list_segments(dir)?;
        let (file, start, next) = match segments.last() {
            Some(&start) => {
                let path = segment_path(dir, start);
                let mut file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&path)
                    .map_err(|e| io_error("opening the newest segment", &e))?;
                let (records, valid_len) = scan_frames(&mut file)?;
                let len = file
                    .metadata()
                    .map_err(|e| io_error("reading the newest segment's size", &e))?
                    .len();
                if valid_len < len {
                    tracing::warn!(
                        segment = %path.display(),
                        dropped_bytes = len - valid_len,
                        "audit journal: cutting off a torn tail (never acknowledged)"
                    );
                    file.set_len(valid_len)
                        .and_then(|()| file.sync_all())
                        .map_err(|e| io_error("cutting off a torn tail", &e))?;
                }
                file.seek(SeekFrom::Start(valid_len))
                    .map_err(|e| io_error("seeking to the end", &e))?;
                (file, start, start + records)
            }
            None => (new_segment(dir, 0)?, 0, 0),
        };
        let written = file
            .metadata()
            .map_err(|e| io_error("reading the segment's size", &e))?
            .len();
        let (durable_tx, durable) = watch::channel(next);
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending::default()),
            wake: Condvar::new(),
        });
        let writer = Writer {
            dir: dir.to_owned(),
            file,
            segment_start: start,
            segment_len: written,
            next,
            failure: None,
            durable: durable_tx,
        };
        let for_writer = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("palisade-audit-journal".to_owned())
            .spawn(move || writer.run(&for_writer))
            .map_err(|e| io_error("starting the writer thread", &e))?;
        Ok(Journal {
            handle: Arc::new(Handle {
                dir: dir.to_owned(),
                shared,
                durable,
                holds: Mutex::new(BTreeMap::new()),
            }),
        })
    }

    /// Appends the record `write` puts into the buffer it is given (it must add at least one
    /// byte); resolves with the record's sequence number once it is durable.
    pub async fn append_with(&self, write: impl FnOnce(&mut Vec<u8>)) -> Result<u64, JournalError> {
        let (reply, answer) = oneshot::channel();
        {
            let mut pending = self.lock()?;
            let frame_start = pending.frames.len();
            pending.frames.extend_from_slice(&[0; FRAME_HEADER]);
            write(&mut pending.frames);
            let framed = pending
                .frames
                .split_at_mut_checked(frame_start + FRAME_HEADER)
                .and_then(|(head, body)| {
                    let len = u32::try_from(body.len())
                        .ok()
                        .filter(|&len| (1..=MAX_BODY).contains(&len))?;
                    let (len_field, crc_field) =
                        head.get_mut(frame_start..)?.split_at_mut_checked(4)?;
                    len_field.copy_from_slice(&len.to_le_bytes());
                    crc_field.copy_from_slice(&crc32fast::hash(body).to_le_bytes());
                    Some(())
                });
            if framed.is_none() {
                pending.frames.truncate(frame_start);
                return Err(JournalError(
                    "audit journal: a record must be 1 byte to 16 MiB".to_owned(),
                ));
            }
            pending.waiters.push(reply);
            self.wake_writer(pending);
        }
        answer.await.map_err(|_| writer_gone())?
    }

    /// Removes the segments whose records all come before `sequence`, or before the lowest
    /// hold if that is lower.
    pub async fn trim(&self, sequence: u64) -> Result<(), JournalError> {
        let held = self
            .handle
            .holds
            .lock()
            .map_err(|_| writer_gone())?
            .values()
            .min()
            .copied();
        let sequence = held.map_or(sequence, |held| held.min(sequence));
        self.control(|reply| Control::Trim(sequence, reply)).await
    }

    /// Keeps record `sequence` and every later one from being trimmed on behalf of the reader
    /// `holder`, replacing its previous hold.
    pub fn hold(&self, holder: &str, sequence: u64) {
        if let Ok(mut holds) = self.handle.holds.lock() {
            holds.insert(holder.to_owned(), sequence);
        }
    }

    /// Removes every record; answers the sequence number the next record will get.
    pub async fn reset(&self) -> Result<u64, JournalError> {
        self.control(Control::Reset).await
    }

    /// The directory holding the segments.
    pub fn dir(&self) -> &Path {
        &self.handle.dir
    }

    /// Watches the number of durable records.
    pub fn durable(&self) -> watch::Receiver<u64> {
        self.handle.durable.clone()
    }

    /// A reader starting at record `sequence`.
    pub fn reader(&self, sequence: u64) -> JournalReader {
        JournalReader {
            dir: self.handle.dir.clone(),
            next: sequence,
            position: None,
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Pending>, JournalError> {
        self.handle.shared.pending.lock().map_err(|_| writer_gone())
    }

    fn wake_writer(&self, mut pending: MutexGuard<'_, Pending>) {
        // Waking costs a system call; a busy writer will look again before it waits.
        if pending.writer_idle {
            pending.writer_idle = false;
            drop(pending);
            self.handle.shared.wake.notify_one();
        }
    }

    async fn control<T>(
        &self,
        command: impl FnOnce(Reply<T>) -> Control,
    ) -> Result<T, JournalError> {
        let (reply, answer) = oneshot::channel();
        {
            let mut pending = self.lock()?;
            pending.controls.push(command(reply));
            self.wake_writer(pending);
        }
        answer.await.map_err(|_| writer_gone())?
    }
}

/// Reads records in order from a sequence number on.
pub struct JournalReader {
    dir: PathBuf,
    next: u64,
    /// The open segment: its first sequence number, and the file at record `next`.
    position: Option<(u64, BufReader<File>)>,
}

impl JournalReader {
    /// The sequence number of the next record this reader returns.
    pub fn next_sequence(&self) -> u64 {
        self.next
    }

    /// Up to `max` records from the reader's position, none at or past `limit` (records at or
    /// past the durable count may be half-written). Records removed by a trim or a reset are
    /// skipped.
    pub fn read(&mut self, limit: u64, max: usize) -> Result<Vec<(u64, Vec<u8>)>, JournalError> {
        let mut records = Vec::new();
        while self.next < limit && records.len() < max {
            let Some((_, file)) = self.position.as_mut() else {
                if !self.open_segment()? {
                    break;
                }
                continue;
            };
            match read_frame(file)? {
                Some(body) => {
                    records.push((self.next, body));
                    self.next += 1;
                }
                // The segment ended: the next record starts the following one, if there is one
                // yet.
                None => {
                    self.position = None;
                    if !list_segments(&self.dir)?.contains(&self.next) {
                        break;
                    }
                }
            }
        }
        Ok(records)
    }

    /// Opens the segment holding record `next` and skips to it; `false` when no segment does.
    fn open_segment(&mut self) -> Result<bool, JournalError> {
        let segments = list_segments(&self.dir)?;
        let start = match segments.iter().rev().find(|&&start| start <= self.next) {
            Some(&start) => start,
            // Trimmed or reset away: continue at the oldest record there is.
            None => match segments.first() {
                Some(&first) if first > self.next => {
                    self.next = first;
                    first
                }
                _ => return Ok(false),
            },
        };
        let file = File::open(segment_path(&self.dir, start))
            .map_err(|e| io_error("opening a segment to read", &e))?;
        let mut file = BufReader::new(file);
        for _ in start..self.next {
            if read_frame(&mut file)?.is_none() {
                return Err(JournalError(format!(
                    "audit journal: segment {start} ends before record {}",
                    self.next
                )));
            }
        }
        self.position = Some((start, file));
        Ok(true)
    }
}

/// The writer thread's state.
struct Writer {
    dir: PathBuf,
    file: File,
    segment_start: u64,
    segment_len: u64,
    next: u64,
    /// Set by a failed write or sync: what is on disk is then unknown, so every later append
    /// fails too (fail-closed) until the journal is reopened, which recovers.
    failure: Option<JournalError>,
    durable: watch::Sender<u64>,
}

impl Writer {
    fn run(mut self, shared: &Shared) {
        let mut frames = Vec::new();
        let mut waiters = Vec::new();
        let mut controls = Vec::new();
        loop {
            {
                let Ok(mut pending) = shared.pending.lock() else {
                    return;
                };
                while pending.frames.is_empty() && pending.controls.is_empty() {
                    if pending.closed {
                        return;
                    }
                    pending.writer_idle = true;
                    pending = match shared.wake.wait(pending) {
                        Ok(pending) => pending,
                        Err(_) => return,
                    };
                }
                pending.writer_idle = false;
                // Swapped, not moved: both buffers keep their capacity from round to round.
                std::mem::swap(&mut frames, &mut pending.frames);
                std::mem::swap(&mut waiters, &mut pending.waiters);
                std::mem::swap(&mut controls, &mut pending.controls);
            }
            if !waiters.is_empty() {
                let result = self.write_frames(&frames, waiters.len() as u64);
                for (offset, reply) in (0u64..).zip(waiters.drain(..)) {
                    let _ = reply.send(result.clone().map(|first| first + offset));
                }
            }
            frames.clear();
            for control in controls.drain(..) {
                match control {
                    Control::Trim(sequence, reply) => {
                        let _ = reply.send(self.trim(sequence));
                    }
                    Control::Reset(reply) => {
                        let _ = reply.send(self.reset());
                    }
                }
            }
        }
    }

    /// Writes and syncs `count` whole frames; answers the first one's sequence number.
    fn write_frames(&mut self, frames: &[u8], count: u64) -> Result<u64, JournalError> {
        if let Some(failure) = &self.failure {
            return Err(failure.clone());
        }
        let written = self
            .file
            .write_all(frames)
            .and_then(|()| self.file.sync_data());
        if let Err(error) = written {
            let failure = io_error("writing records", &error);
            self.failure = Some(failure.clone());
            return Err(failure);
        }
        let first = self.next;
        self.next += count;
        self.segment_len += frames.len() as u64;
        self.durable.send_replace(self.next);
        if self.segment_len >= SEGMENT_BYTES
            && let Err(failure) = self.start_segment()
        {
            self.failure = Some(failure);
        }
        Ok(first)
    }

    fn start_segment(&mut self) -> Result<(), JournalError> {
        self.file = new_segment(&self.dir, self.next)?;
        self.segment_start = self.next;
        self.segment_len = 0;
        Ok(())
    }

    fn trim(&mut self, sequence: u64) -> Result<(), JournalError> {
        let segments = list_segments(&self.dir)?;
        // A segment's records all come before `sequence` when the next segment starts at or
        // before it; the segment being written is never removed.
        for pair in segments.windows(2) {
            if let [start, next_start] = *pair
                && next_start <= sequence
                && start != self.segment_start
            {
                remove_segment(&self.dir, start)?;
            }
        }
        Ok(())
    }

    fn reset(&mut self) -> Result<u64, JournalError> {
        // Start the new segment first: a crash in between leaves records to remove, never a
        // journal without a segment to write.
        if self.segment_len > 0 || self.failure.is_some() {
            self.start_segment()?;
        }
        for start in list_segments(&self.dir)? {
            if start != self.segment_start {
                remove_segment(&self.dir, start)?;
            }
        }
        self.failure = None;
        Ok(self.next)
    }
}

fn segment_path(dir: &Path, start: u64) -> PathBuf {
    dir.join(format!("{start:020}.log"))
}

/// The segments' first sequence numbers, in order.
fn list_segments(dir: &Path) -> Result<Vec<u64>, JournalError> {
    let entries = std::fs::read_dir(dir).map_err(|e| io_error("listing segments", &e))?;
    let mut starts = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error("listing segments", &e))?;
        let name = entry.file_name();
        if let Some(start) = name
            .to_str()
            .and_then(|name| name.strip_suffix(".log"))
            .filter(|digits| digits.len() == 20)
            .and_then(|digits| digits.parse::<u64>().ok())
        {
            starts.push(start);
        }
    }
    starts.sort_unstable();
    Ok(starts)
}

/// Creates the segment whose first record is `start` (0600), durable in the directory.
fn new_segment(dir: &Path, start: u64) -> Result<File, JournalError> {
    let path = segment_path(dir, start);
    let file = match fsutil::create_private_file(&path) {
        Ok(file) => file,
        // Left by a crash right after it was created: it holds nothing acknowledged.
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| io_error("reopening a new segment", &e))?,
        Err(error) => return Err(io_error("creating a segment", &error)),
    };
    fsutil::sync_dir(dir).map_err(|error| JournalError(error.to_string()))?;
    Ok(file)
}

fn remove_segment(dir: &Path, start: u64) -> Result<(), JournalError> {
    std::fs::remove_file(segment_path(dir, start)).map_err(|e| io_error("removing a segment", &e))
}

/// Counts the whole frames at the start of `file`; answers the count and their length in bytes.
fn scan_frames(file: &mut File) -> Result<(u64, u64), JournalError> {
    file.seek(SeekFrom::Start(0))
        .map_err(|e| io_error("rewinding a segment", &e))?;
    let mut reader = BufReader::new(&mut *file);
    let (mut count, mut valid) = (0u64, 0u64);
    while let Some(body) = read_frame(&mut reader)? {
        count += 1;
        valid += (FRAME_HEADER + body.len()) as u64;
    }
    Ok((count, valid))
}

/// The next whole frame's body; `None` at the end, at a torn frame or at a checksum mismatch.
fn read_frame(reader: &mut impl Read) -> Result<Option<Vec<u8>>, JournalError> {
    let mut header = [0u8; FRAME_HEADER];
    if !read_full(reader, &mut header)? {
        return Ok(None);
    }
    let [l0, l1, l2, l3, c0, c1, c2, c3] = header;
    let len = u32::from_le_bytes([l0, l1, l2, l3]);
    let crc = u32::from_le_bytes([c0, c1, c2, c3]);
    if len == 0 || len > MAX_BODY {
        return Ok(None);
    }
    let mut body = vec![0u8; len as usize];
    if !read_full(reader, &mut body)? || crc32fast::hash(&body) != crc {
        return Ok(None);
    }
    Ok(Some(body))
}

/// Fills `buf`; `false` if the input ends first.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> Result<bool, JournalError> {
    match reader.read_exact(buf) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(error) => Err(io_error("reading a segment", &error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Journal {
        /// Appends `body` as one record.
        async fn append(&self, body: &[u8]) -> Result<u64, JournalError> {
            self.append_with(|buffer| buffer.extend_from_slice(body))
                .await
        }
    }

    fn bodies(records: &[(u64, Vec<u8>)]) -> Vec<String> {
        records
            .iter()
            .map(|(_, body)| String::from_utf8(body.clone()).unwrap())
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn appends_are_numbered_durable_and_read_back_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap();
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let journal = journal.clone();
                tokio::spawn(async move { journal.append(format!("record {i}").as_bytes()).await })
            })
            .collect();
        let mut sequences = Vec::new();
        for task in tasks {
            sequences.push(task.await.unwrap().unwrap());
        }
        sequences.sort_unstable();
        assert_eq!(sequences, (0..100).collect::<Vec<_>>());
        assert_eq!(*journal.durable().borrow(), 100);
        drop(journal);

        let reopened = Journal::open(dir.path()).unwrap();
        assert_eq!(*reopened.durable().borrow(), 100);
        let mut reader = reopened.reader(95);
        let tail = reader.read(100, 10).unwrap();
        assert_eq!(tail.len(), 5);
        assert_eq!(tail.first().unwrap().0, 95);
        assert_eq!(reopened.append(b"after").await.unwrap(), 100);
    }

    #[tokio::test]
    async fn a_torn_tail_is_cut_off_and_numbering_continues() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap();
        for body in ["one", "two", "three"] {
            journal.append(body.as_bytes()).await.unwrap();
        }
        drop(journal);
        let path = segment_path(dir.path(), 0);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        // Half a frame, as a crash during a write leaves it.
        file.write_all(&[200, 0, 0, 0, 1, 2]).unwrap();
        drop(file);
        let whole = std::fs::read(&path).unwrap();

        let journal = Journal::open(dir.path()).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().len() as usize,
            whole.len() - 6
        );
        assert_eq!(journal.append(b"four").await.unwrap(), 3);
        let records = journal.reader(0).read(4, 10).unwrap();
        assert_eq!(bodies(&records), ["one", "two", "three", "four"]);
    }

    #[tokio::test]
    async fn a_corrupt_frame_ends_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap();
        for body in ["one", "two"] {
            journal.append(body.as_bytes()).await.unwrap();
        }
        drop(journal);
        let path = segment_path(dir.path(), 0);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();

        let journal = Journal::open(dir.path()).unwrap();
        assert_eq!(*journal.durable().borrow(), 1);
        assert_eq!(bodies(&journal.reader(0).read(10, 10).unwrap()), ["one"]);
    }

    #[tokio::test]
    async fn segments_roll_over_and_trim_keeps_what_is_unread() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap();
        let big = vec![b'x'; 1 << 20];
        for _ in 0..70 {
            journal.append(&big).await.unwrap();
        }
        let segments = list_segments(dir.path()).unwrap();
        assert_eq!(segments.len(), 2, "{segments:?}");
        let second = segments[1];
        let mut reader = journal.reader(second - 1);
        assert_eq!(reader.read(70, 3).unwrap().len(), 3);

        journal.trim(second - 1).await.unwrap();
        assert_eq!(list_segments(dir.path()).unwrap().len(), 2);
        journal.trim(second).await.unwrap();
        assert_eq!(list_segments(dir.path()).unwrap(), [second]);
        // A reader positioned in a trimmed segment moves on to the oldest record there is.
        let mut stale = journal.reader(0);
        let records = stale.read(70, 1).unwrap();
        assert_eq!(records.first().unwrap().0, second);
    }

    #[tokio::test]
    async fn reset_removes_records_and_numbering_continues() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap();
        for body in ["one", "two"] {
            journal.append(body.as_bytes()).await.unwrap();
        }
        assert_eq!(journal.reset().await.unwrap(), 2);
        assert_eq!(journal.append(b"three").await.unwrap(), 2);
        assert_eq!(bodies(&journal.reader(0).read(3, 10).unwrap()), ["three"]);
        drop(journal);
        let reopened = Journal::open(dir.path()).unwrap();
        assert_eq!(*reopened.durable().borrow(), 3);
    }
}
