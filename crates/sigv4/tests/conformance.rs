//! The AWS SigV4 test suite (the one aws-c-auth ships), run against the
//! verifier.
//!
//! The suite is not part of this repository: this test reads it from
//! `../shared/conformance/sigv4/` relative to the repository root, i.e.
//! `shared/` beside the checkout. When that folder is absent the test prints
//! a note and passes without checking anything.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a failed unwrap or index is a failed assertion"
)]

use std::fs;
use std::path::{Path, PathBuf};

use palisade_sigv4::{
    Error, Options, Payload, Request, canonical_request, parse, parse_amz_date, string_to_sign,
    verify,
};
use serde_json::Value;

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/sigv4")
}

/// A request as written in the suite's `*.txt` files: raw HTTP/1.1, with
/// obsolete line folding kept as sent.
#[derive(Clone)]
struct RawRequest {
    method: Vec<u8>,
    path: Vec<u8>,
    query: Vec<u8>,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
}

impl RawRequest {
    fn parse(text: &[u8]) -> RawRequest {
        let split = text
            .windows(2)
            .position(|w| w == b"\n\n")
            .expect("blank line after the headers");
        let (head, body) = (&text[..split], &text[split + 2..]);
        let mut lines = head.split(|&b| b == b'\n');
        let request_line = lines.next().unwrap();
        let request_line = request_line.strip_suffix(b" HTTP/1.1").unwrap();
        let space = request_line.iter().position(|&b| b == b' ').unwrap();
        let (method, target) = (&request_line[..space], &request_line[space + 1..]);
        let (path, query) = match target.iter().position(|&b| b == b'?') {
            Some(q) => (&target[..q], &target[q + 1..]),
            None => (target, &b""[..]),
        };
        let mut headers: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for line in lines {
            if line.starts_with(b" ") || line.starts_with(b"\t") {
                let (_, value) = headers.last_mut().expect("continuation after a header");
                value.push(b'\n');
                value.extend_from_slice(line);
            } else {
                let colon = line.iter().position(|&b| b == b':').unwrap();
                headers.push((line[..colon].to_vec(), line[colon + 1..].to_vec()));
            }
        }
        RawRequest {
            method: method.to_vec(),
            path: path.to_vec(),
            query: query.to_vec(),
            headers,
            body: body.to_vec(),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&Request<'_>) -> R) -> R {
        let method = String::from_utf8_lossy(&self.method);
        let path = String::from_utf8_lossy(&self.path);
        let query = String::from_utf8_lossy(&self.query);
        let names: Vec<_> = self
            .headers
            .iter()
            .map(|(n, _)| String::from_utf8_lossy(n))
            .collect();
        let headers: Vec<(&str, &[u8])> = names
            .iter()
            .zip(&self.headers)
            .map(|(n, (_, v))| (n.as_ref(), v.as_slice()))
            .collect();
        f(&Request {
            method: &method,
            path: &path,
            query: &query,
            headers: &headers,
            payload: Payload::Bytes(&self.body),
        })
    }
}

struct Case {
    name: String,
    dir: PathBuf,
    context: Value,
    timestamp: i64,
    options: Options,
}

impl Case {
    fn load(dir: PathBuf) -> Case {
        let context: Value =
            serde_json::from_slice(&fs::read(dir.join("context.json")).unwrap()).unwrap();
        let timestamp = context["timestamp"]
            .as_str()
            .unwrap()
            .replace(['-', ':'], "");
        Case {
            name: dir.file_name().unwrap().to_string_lossy().into_owned(),
            timestamp: parse_amz_date(&timestamp).unwrap(),
            options: Options {
                normalize_path: context["normalize"].as_bool().unwrap(),
                ..Options::default()
            },
            context,
            dir,
        }
    }

    fn file(&self, name: &str) -> Vec<u8> {
        fs::read(self.dir.join(name)).unwrap()
    }

    fn text(&self, name: &str) -> String {
        String::from_utf8(self.file(name)).unwrap()
    }

    fn secret(&self) -> &[u8] {
        self.context["credentials"]["secret_access_key"]
            .as_str()
            .unwrap()
            .as_bytes()
    }

    fn token_added_after_signing(&self) -> bool {
        self.context["omit_session_token"].as_bool() == Some(true)
    }

    fn check(&self, raw: &RawRequest) -> Result<(), Error> {
        raw.with(|req| {
            let auth = parse(req)?;
            verify(req, &auth, self.secret(), self.timestamp, &self.options)
        })
    }
}

fn cases() -> Option<Vec<Case>> {
    let dir = suite_dir();
    let Ok(entries) = fs::read_dir(&dir) else {
        eprintln!(
            "SKIPPED: SigV4 conformance suite not found at {}",
            dir.display()
        );
        return None;
    };
    let mut cases: Vec<Case> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("context.json").is_file())
        .map(Case::load)
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(!cases.is_empty(), "no cases in {}", dir.display());
    Some(cases)
}

/// Where a single-byte change must break the signature.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Site {
    Method(usize),
    Path(usize),
    Query(usize),
    HeaderName(usize, usize),
    HeaderValue(usize, usize),
    Body(usize),
}

fn signed_sites(
    raw: &RawRequest,
    signed: &[String],
    unsigned_query: Option<(usize, usize)>,
) -> Vec<Site> {
    let mut sites: Vec<Site> = (0..raw.method.len()).map(Site::Method).collect();
    sites.extend((0..raw.path.len()).map(Site::Path));
    sites.extend(
        (0..raw.query.len())
            .filter(|i| !unsigned_query.is_some_and(|(start, end)| (start..end).contains(i)))
            .map(Site::Query),
    );
    for (h, (name, value)) in raw.headers.iter().enumerate() {
        if signed.contains(&String::from_utf8_lossy(name).to_ascii_lowercase()) {
            sites.extend((0..name.len()).map(|i| Site::HeaderName(h, i)));
            sites.extend((0..value.len()).map(|i| Site::HeaderValue(h, i)));
        }
    }
    sites.extend((0..raw.body.len()).map(Site::Body));
    sites
}

fn flip(raw: &RawRequest, site: Site) -> RawRequest {
    let mut out = raw.clone();
    let byte = match site {
        Site::Method(i) => &mut out.method[i],
        Site::Path(i) => &mut out.path[i],
        Site::Query(i) => &mut out.query[i],
        Site::HeaderName(h, i) => &mut out.headers[h].0[i],
        Site::HeaderValue(h, i) => &mut out.headers[h].1[i],
        Site::Body(i) => &mut out.body[i],
    };
    // Never a space, '%', '/' or '.', nor the same letter in the other case,
    // so no flip is undone by trimming, decoding, path normalisation or the
    // case-insensitivity of header names.
    *byte = if byte.eq_ignore_ascii_case(&b'q') {
        b'z'
    } else {
        b'q'
    };
    out
}

/// Byte range of the X-Amz-Security-Token value in a raw query.
fn token_value_range(query: &[u8]) -> Option<(usize, usize)> {
    let key = b"X-Amz-Security-Token=";
    let start = query.windows(key.len()).position(|w| w == key)? + key.len();
    let len = query[start..]
        .iter()
        .position(|&b| b == b'&')
        .unwrap_or(query.len() - start);
    Some((start, start + len))
}

#[test]
fn suite_verifies_and_every_signed_byte_matters() {
    let Some(cases) = cases() else { return };
    let mut verified = 0;
    let mut flips = 0;
    let mut equivalent_flips = 0;
    for case in &cases {
        for form in ["header", "query"] {
            let what = format!("{} ({form})", case.name);
            let raw = RawRequest::parse(&case.file(&format!("{form}-signed-request.txt")));

            let auth = raw
                .with(parse)
                .unwrap_or_else(|e| panic!("{what}: parse: {e:?}"));
            assert_eq!(
                hex::encode(auth.signature),
                case.text(&format!("{form}-signature.txt")).trim(),
                "{what}"
            );
            assert_eq!(
                auth.access_key_id,
                case.context["credentials"]["access_key_id"]
            );
            assert_eq!(auth.presigned.is_some(), form == "query", "{what}");
            auth.check_scope(
                case.context["region"].as_str().unwrap(),
                case.context["service"].as_str().unwrap(),
            )
            .unwrap();
            case.check(&raw)
                .unwrap_or_else(|e| panic!("{what}: verify: {e:?}"));
            verified += 1;

            // The canonical request and string to sign, byte for byte. A
            // token added after signing is not in the suite's canonical
            // request, and the verifier's first candidate includes it, so
            // compare the request as it was before the token was added.
            let mut as_signed = raw.clone();
            let unsigned_token = if form == "query" && case.token_added_after_signing() {
                let (start, end) = token_value_range(&raw.query).unwrap();
                let name_start = start - "&X-Amz-Security-Token=".len();
                as_signed.query.drain(name_start..end);
                Some((start, end))
            } else {
                None
            };
            as_signed.with(|req| {
                let auth = parse(req).unwrap();
                let canonical = canonical_request(req, &auth, &case.options).unwrap();
                assert_eq!(
                    String::from_utf8_lossy(&canonical),
                    case.text(&format!("{form}-canonical-request.txt")),
                    "{what}"
                );
                assert_eq!(
                    string_to_sign(&auth, &canonical),
                    case.text(&format!("{form}-string-to-sign.txt")),
                    "{what}"
                );
            });

            let original_canonical =
                raw.with(|req| canonical_request(req, &auth, &case.options).unwrap());
            for site in signed_sites(&raw, &auth.signed_headers, unsigned_token) {
                let tampered = flip(&raw, site);
                flips += 1;
                if case.check(&tampered).is_err() {
                    continue;
                }
                // Accepted: only legitimate when the change vanishes in
                // normalisation, e.g. a byte of a segment removed by "..".
                let same = tampered.with(|req| {
                    parse(req).is_ok_and(|auth| {
                        canonical_request(req, &auth, &case.options).ok()
                            == Some(original_canonical.clone())
                    })
                });
                assert!(
                    same && case.options.normalize_path && matches!(site, Site::Path(_)),
                    "{what}: flipping {site:?} was not detected"
                );
                equivalent_flips += 1;
            }
        }
    }
    eprintln!(
        "conformance: {} cases, {verified} signed requests verified; {flips} single-byte \
         tamperings, all rejected except {equivalent_flips} that normalise to the same path",
        cases.len()
    );
    assert_eq!(verified, cases.len() * 2);
}

#[test]
fn the_wrong_secret_or_clock_is_refused() {
    let Some(cases) = cases() else { return };
    for case in &cases {
        let raw = RawRequest::parse(&case.file("header-signed-request.txt"));
        raw.with(|req| {
            let auth = parse(req).unwrap();
            assert_eq!(
                verify(req, &auth, b"not the secret", case.timestamp, &case.options),
                Err(Error::InvalidSignature),
                "{}",
                case.name
            );
            assert!(matches!(
                verify(
                    req,
                    &auth,
                    case.secret(),
                    case.timestamp + 901,
                    &case.options
                ),
                Err(Error::RequestTimeTooSkewed(_))
            ));
        });
        let raw = RawRequest::parse(&case.file("query-signed-request.txt"));
        let expires = case.context["expiration_in_seconds"].as_i64().unwrap();
        raw.with(|req| {
            let auth = parse(req).unwrap();
            assert_eq!(auth.presigned, Some(expires as u64));
            verify(
                req,
                &auth,
                case.secret(),
                case.timestamp + expires,
                &case.options,
            )
            .unwrap();
            assert!(matches!(
                verify(
                    req,
                    &auth,
                    case.secret(),
                    case.timestamp + expires + 1,
                    &case.options
                ),
                Err(Error::SignatureExpired(_))
            ));
        });
    }
}
