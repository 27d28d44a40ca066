//! How a stream's events are stored: in chunks, one store entry per run of events of one
//! `PutLogEvents` batch that share a timestamp, keyed by the position of its first event
//! (`db` gives the key's layout). A batch of thousands of events, as CloudTrail streams them, is
//! then a few store rows, not one per event.
//!
//! The events of a chunk follow each other in their stream: one timestamp, consecutive sequence
//! numbers, one ingestion time. So chunks never interleave, and reading them in key order reads
//! the stream in position order; a read from a position starts at the first chunk of the
//! position's timestamp, since the chunk holding its successor may start before it.
//!
//! A chunk is a format byte and its body: as it is ([`PLAIN_CHUNK`]), or, when that saves at
//! least an eighth, its length (4 bytes, big-endian) and the body compressed as an LZ4 block
//! ([`COMPRESSED_CHUNK`]): messages such as CloudTrail records shrink several times, and the store
//! writes (and syncs) that much less. The body is the ingestion time (8 bytes, big-endian),
//! then per event a kind byte, a length (4 bytes, big-endian) and that many bytes: the message,
//! or for a sealed one the data key id's length (4 bytes), the id and the sealed data. An entry
//! whose value starts with `{` is one event alone, in JSON, as builds before chunks stored every
//! event.

use std::borrow::Cow;

use palisade_core::ServiceError;

use crate::LogsState;
use crate::db::EVENTS;
use crate::encryption::SealedMessage;
use crate::events::{EventRecord, Position};

/// The first byte of a chunk, by how its body is stored.
const PLAIN_CHUNK: u8 = 1;
const COMPRESSED_CHUNK: u8 = 2;
/// The largest body a chunk holds: a batch of `PutLogEvents` (1 MiB, counting 26 bytes per
/// event, at most 10,000 events) with this layout's overhead. A larger length is corrupt.
const MAX_BODY: usize = 1_048_576 + 10_000 * 64;
const PLAIN: u8 = 0;
const SEALED: u8 = 1;
/// Chunks read by a stream read's first store scan; each further scan reads twice as many, up to
/// [`MAX_CHUNKS_PER_SCAN`]. A chunk may hold a whole batch (up to 1 MiB) or a single event.
const FIRST_CHUNKS_PER_SCAN: usize = 8;
const MAX_CHUNKS_PER_SCAN: usize = 512;

/// An event as it is written into a chunk.
pub(crate) struct Written<'a> {
    /// The message; ignored when it is sealed.
    pub message: &'a str,
    pub sealed: Option<&'a SealedMessage>,
}

/// The chunk of `events`, ingested at `ingestion_time`.
pub(crate) fn encode<'a>(
    ingestion_time: i64,
    events: impl IntoIterator<Item = Written<'a>>,
) -> Vec<u8> {
    let mut body = ingestion_time.to_be_bytes().to_vec();
    for event in events {
        match event.sealed {
            None => {
                body.push(PLAIN);
                push_bytes(&mut body, event.message.as_bytes());
            }
            Some(sealed) => {
                body.push(SEALED);
                let id = sealed.data_key.as_bytes();
                let len = 4 + id.len() + sealed.data.len();
                push_len(&mut body, len);
                push_bytes(&mut body, id);
                body.extend_from_slice(&sealed.data);
            }
        }
    }
    let compressed = lz4_flex::block::compress(&body);
    if compressed.len() + 4 > body.len() - body.len() / 8 {
        body.insert(0, PLAIN_CHUNK);
        return body;
    }
    let mut chunk = vec![COMPRESSED_CHUNK];
    push_len(&mut chunk, body.len());
    chunk.extend_from_slice(&compressed);
    chunk
}

fn push_len(chunk: &mut Vec<u8>, len: usize) {
    // An event is at most 1 MiB, a data key id a few dozen bytes.
    chunk.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
}

fn push_bytes(chunk: &mut Vec<u8>, bytes: &[u8]) {
    push_len(chunk, bytes.len());
    chunk.extend_from_slice(bytes);
}

/// The events of the entry stored at `first` (the position its key names); `None` when the
/// value is neither a chunk nor an event alone.
pub(crate) fn decode(first: Position, value: &[u8]) -> Option<Vec<(Position, EventRecord)>> {
    let body = match value.split_first() {
        Some((&PLAIN_CHUNK, body)) => Cow::Borrowed(body),
        Some((&COMPRESSED_CHUNK, rest)) => {
            let (len, compressed) = rest.split_first_chunk::<4>()?;
            let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
            if len > MAX_BODY {
                return None;
            }
            Cow::Owned(lz4_flex::block::decompress(compressed, len).ok()?)
        }
        _ => {
            let event: EventRecord = serde_json::from_slice(value).ok()?;
            return Some(vec![(first, event)]);
        }
    };
    let (ingestion_time, mut rest) = body.split_first_chunk::<8>()?;
    let ingestion_time = i64::from_be_bytes(*ingestion_time);
    let mut events = Vec::new();
    let mut sequence = first.sequence;
    while let Some((&kind, after_kind)) = rest.split_first() {
        let (payload, after) = take_bytes(after_kind)?;
        rest = after;
        let (message, sealed) = match kind {
            PLAIN => (String::from_utf8(payload.to_vec()).ok()?, None),
            SEALED => {
                let (id, data) = take_bytes(payload)?;
                let sealed = SealedMessage {
                    data_key: String::from_utf8(id.to_vec()).ok()?,
                    data: data.to_vec(),
                };
                (String::new(), Some(sealed))
            }
            _ => return None,
        };
        let position = Position {
            timestamp: first.timestamp,
            sequence,
        };
        events.push((
            position,
            EventRecord {
                timestamp: first.timestamp,
                ingestion_time,
                message,
                sealed,
            },
        ));
        sequence = sequence.checked_add(1)?;
    }
    Some(events)
}

/// Splits a length-prefixed run of bytes off the front of `bytes`.
fn take_bytes(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = bytes.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// A stream's events in position order, from a timestamp on, or in reverse order, before a
/// position; read a growing number of chunks at a time.
pub(crate) struct StreamEvents {
    /// The prefix of the stream's event keys.
    prefix: String,
    /// The store key of the last chunk read (at first, the key reading starts from): reading
    /// goes on after it, or before it when going backward.
    cursor: String,
    backward: bool,
    chunks_per_scan: usize,
    exhausted: bool,
    /// Events read and not returned yet, the next last.
    read: Vec<(Position, EventRecord)>,
}

impl StreamEvents {
    /// The events under `prefix` (a stream's) at or after `timestamp`, oldest first.
    pub fn from(prefix: String, timestamp: i64) -> StreamEvents {
        // Every key of an event at `timestamp` or later sorts after this.
        let cursor = format!("{prefix}{:019}", timestamp.max(0));
        StreamEvents::reading(prefix, cursor, false)
    }

    /// The events under `prefix` (a stream's) newest first, from the last chunk that starts
    /// before `position` on: that chunk may also hold events at or after `position`, which
    /// the caller skips.
    pub fn before(prefix: String, position: Position) -> StreamEvents {
        let cursor = format!("{prefix}{}", position.suffix());
        StreamEvents::reading(prefix, cursor, true)
    }

    fn reading(prefix: String, cursor: String, backward: bool) -> StreamEvents {
        StreamEvents {
            prefix,
            cursor,
            backward,
            chunks_per_scan: FIRST_CHUNKS_PER_SCAN,
            exhausted: false,
            read: Vec::new(),
        }
    }

    /// The next event; `None` after the last.
    pub async fn next(
        &mut self,
        state: &LogsState,
    ) -> Result<Option<(Position, EventRecord)>, ServiceError> {
        loop {
            if let Some(event) = self.read.pop() {
                return Ok(Some(event));
            }
            if self.exhausted {
                return Ok(None);
            }
            let rows = if self.backward {
                state
                    .scan_values_back(
                        EVENTS,
                        &self.prefix,
                        Some(&self.cursor),
                        self.chunks_per_scan,
                    )
                    .await?
            } else {
                state
                    .scan_values(
                        EVENTS,
                        &self.prefix,
                        Some(&self.cursor),
                        self.chunks_per_scan,
                    )
                    .await?
            };
            self.exhausted = rows.len() < self.chunks_per_scan;
            self.chunks_per_scan = (self.chunks_per_scan * 2).min(MAX_CHUNKS_PER_SCAN);
            for (key, value) in rows {
                let first = key
                    .strip_prefix(&self.prefix)
                    .and_then(Position::parse_suffix);
                if let Some(events) = first.and_then(|first| decode(first, value.bytes())) {
                    if self.backward {
                        self.read.extend(events.into_iter().rev());
                    } else {
                        self.read.extend(events);
                    }
                }
                self.cursor = key;
            }
            self.read.reverse();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_round_trip_and_events_stored_alone_still_read() {
        let sealed = SealedMessage {
            data_key: "key-1".to_owned(),
            data: vec![1, 2, 3, 4],
        };
        let chunk = encode(
            77,
            [
                Written {
                    message: "first",
                    sealed: None,
                },
                Written {
                    message: "",
                    sealed: Some(&sealed),
                },
                Written {
                    message: "ünïcode {\"json\": true}",
                    sealed: None,
                },
            ],
        );
        let first = Position {
            timestamp: 1_000,
            sequence: 41,
        };
        let events = decode(first, &chunk).unwrap();
        let summary: Vec<(i64, u64, i64, &str, Option<&str>)> = events
            .iter()
            .map(|(position, event)| {
                (
                    position.timestamp,
                    position.sequence,
                    event.ingestion_time,
                    event.message.as_str(),
                    event.sealed.as_ref().map(|sealed| sealed.data_key.as_str()),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (1_000, 41, 77, "first", None),
                (1_000, 42, 77, "", Some("key-1")),
                (1_000, 43, 77, "ünïcode {\"json\": true}", None),
            ]
        );
        assert_eq!(events[1].1.sealed.as_ref().unwrap().data, [1, 2, 3, 4]);

        let alone = br#"{"timestamp":5,"ingestion_time":6,"message":"old"}"#;
        let events = decode(first, alone).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].1.message, "old");

        assert_eq!(chunk[0], PLAIN_CHUNK);
        let huge = [COMPRESSED_CHUNK, 0xff, 0xff, 0xff, 0xff, 0];
        let broken_chunks: [&[u8]; 5] = [
            &chunk[..chunk.len() - 1],
            &[PLAIN_CHUNK, 0, 0],
            &[COMPRESSED_CHUNK, 0, 0, 0, 9, 1],
            b"nonsense",
            &huge,
        ];
        for broken in broken_chunks {
            assert!(decode(first, broken).is_none());
        }
        let mut unknown_kind = encode(1, []);
        unknown_kind.extend_from_slice(&[9, 0, 0, 0, 0]);
        assert!(decode(first, &unknown_kind).is_none());

        // Records such as CloudTrail's are stored in a fraction of their size.
        let records: Vec<String> = (0..100)
            .map(|i| {
                format!(
                    r#"{{"eventVersion":"1.11","eventSource":"kms.amazonaws.com","eventName":"Decrypt","awsRegion":"us-east-1","requestID":"{i:08}","readOnly":true}}"#
                )
            })
            .collect();
        let batch = encode(
            1,
            records.iter().map(|record| Written {
                message: record,
                sealed: None,
            }),
        );
        assert_eq!(batch[0], COMPRESSED_CHUNK);
        let size: usize = records.iter().map(String::len).sum();
        assert!(batch.len() * 4 < size);
        let decoded = decode(first, &batch).unwrap();
        assert_eq!(decoded.len(), 100);
        assert_eq!(decoded[99].1.message, records[99]);
    }
}
