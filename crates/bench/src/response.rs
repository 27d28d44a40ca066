//! Just enough HTTP/1.1 response framing to know where a response ends, for the raw engine and
//! the cold-start probe: they read into one buffer and ask, after each read, whether it now holds
//! a whole response. Bodies are not decoded; only an error's body is ever looked at.

use httparse::Status;

/// A complete response at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framed {
    /// The status code.
    pub status: u16,
    /// Where the head ends and the (still framed, if chunked) body begins.
    pub head_len: usize,
    /// Where the response ends.
    pub len: usize,
    /// The server will close the connection after this response.
    pub close: bool,
}

impl Framed {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text, for an error message; a chunked body keeps its chunk framing.
    pub fn body_text(&self, buf: &[u8]) -> String {
        let body = buf.get(self.head_len..self.len).unwrap_or_default();
        String::from_utf8_lossy(body).into_owned()
    }
}

/// Responses with more headers than this are refused; AWS-style responses carry a handful.
const MAX_HEADERS: usize = 64;

/// `Some` once `buf` starts with a whole response, `None` while more bytes are needed.
pub fn complete(buf: &[u8]) -> Result<Option<Framed>, String> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(buf) {
        Ok(Status::Complete(head_len)) => head_len,
        Ok(Status::Partial) => return Ok(None),
        Err(error) => return Err(format!("malformed response: {error}")),
    };
    let status = response.code.unwrap_or_default();
    if (100..200).contains(&status) {
        // Only sent to a request with `Expect: 100-continue`, which these never carry.
        return Err(format!("unexpected interim response {status}"));
    }
    let mut close = response.version == Some(0);
    let mut content_length = None;
    let mut chunked = false;
    for header in response.headers.iter() {
        let value = String::from_utf8_lossy(header.value);
        if header.name.eq_ignore_ascii_case("content-length") {
            let length = value
                .trim()
                .parse::<usize>()
                .map_err(|_| format!("bad content-length `{value}`"))?;
            content_length = Some(length);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if header.name.eq_ignore_ascii_case("connection") {
            close |= value.to_ascii_lowercase().contains("close");
        }
    }
    let body = buf.get(head_len..).unwrap_or_default();
    let body_len = if status == 204 || status == 304 {
        Some(0)
    } else if chunked {
        chunked_len(body)?
    } else if let Some(length) = content_length {
        (body.len() >= length).then_some(length)
    } else {
        // A body delimited by the connection closing: no server worth benchmarking sends one
        // on a keep-alive connection, and supporting it would cost every read a check.
        return Err(format!(
            "response {status} has neither content-length nor chunked encoding"
        ));
    };
    Ok(body_len.map(|body_len| Framed {
        status,
        head_len,
        len: head_len + body_len,
        close,
    }))
}

/// The length of a whole chunked body at the start of `body`, trailers included.
fn chunked_len(body: &[u8]) -> Result<Option<usize>, String> {
    let mut at = 0usize;
    loop {
        let rest = body.get(at..).unwrap_or_default();
        let (size_len, size) = match httparse::parse_chunk_size(rest) {
            Ok(Status::Complete(parsed)) => parsed,
            Ok(Status::Partial) => return Ok(None),
            Err(_) => return Err("malformed chunk size".to_owned()),
        };
        at += size_len;
        if size == 0 {
            return Ok(trailers_len(body.get(at..).unwrap_or_default()).map(|len| at + len));
        }
        // The chunk's data, then its CRLF.
        let size = usize::try_from(size).map_err(|_| "chunk too large".to_owned())?;
        at = at
            .checked_add(size)
            .and_then(|at| at.checked_add(2))
            .ok_or_else(|| "chunk too large".to_owned())?;
        if at > body.len() {
            return Ok(None);
        }
    }
}

/// The trailer section after the last chunk: header lines, then an empty line.
fn trailers_len(rest: &[u8]) -> Option<usize> {
    if rest.starts_with(b"\r\n") {
        return Some(2);
    }
    rest.windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| at + 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXED: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";

    #[test]
    fn content_length_body_completes_only_when_whole() {
        for cut in 0..FIXED.len() {
            assert_eq!(complete(&FIXED[..cut]).unwrap(), None, "cut at {cut}");
        }
        let framed = complete(FIXED).unwrap().unwrap();
        assert_eq!(framed.status, 200);
        assert_eq!(framed.len, FIXED.len());
        assert!(!framed.close);
        assert_eq!(framed.body_text(FIXED), "hello");
    }

    #[test]
    fn chunked_body_completes_after_the_last_chunk_and_trailers() {
        let plain = b"HTTP/1.1 403 Forbidden\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        for cut in 0..plain.len() {
            assert_eq!(complete(&plain[..cut]).unwrap(), None, "cut at {cut}");
        }
        assert_eq!(complete(plain).unwrap().unwrap().len, plain.len());

        let trailers =
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n0\r\nx-sum: 1\r\n\r\n";
        assert_eq!(complete(trailers).unwrap().unwrap().len, trailers.len());
    }

    #[test]
    fn close_is_noticed() {
        let response = b"HTTP/1.1 503 Busy\r\nConnection: close\r\ncontent-length: 0\r\n\r\n";
        let framed = complete(response).unwrap().unwrap();
        assert!(framed.close && !framed.is_success());
        let old = b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert!(complete(old).unwrap().unwrap().close);
    }

    #[test]
    fn unframed_and_malformed_responses_are_errors() {
        assert!(complete(b"HTTP/1.1 200 OK\r\n\r\nbody").is_err());
        assert!(complete(b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n").is_err());
        assert!(complete(b"garbage\r\n\r\n").is_err());
    }
}
