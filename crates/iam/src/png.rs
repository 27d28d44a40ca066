//! The QR code image of a virtual MFA device's `otpauth://` URI, as a PNG: eight-bit
//! grayscale, four pixels per module, with the four-module quiet zone scanners need.

use qrcode::{Color, QrCode};

const SCALE: usize = 4;
const QUIET_ZONE: usize = 4;

/// A PNG of the QR code for `text`; `None` if the text does not fit in a QR code.
pub(crate) fn qr_code(text: &str) -> Option<Vec<u8>> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET_ZONE) * SCALE;
    let mut raw = Vec::with_capacity(side * (side + 1));
    for y in 0..side {
        raw.push(0); // filter type: none
        for x in 0..side {
            let module = |pixel: usize| {
                (pixel / SCALE)
                    .checked_sub(QUIET_ZONE)
                    .filter(|m| *m < modules)
            };
            let dark = match (module(x), module(y)) {
                (Some(mx), Some(my)) => colors.get(my * modules + mx) == Some(&Color::Dark),
                _ => false,
            };
            raw.push(if dark { 0x00 } else { 0xff });
        }
    }
    let side = u32::try_from(side).ok()?;
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&side.to_be_bytes());
    header.extend_from_slice(&side.to_be_bytes());
    // Bit depth 8, color type 0 (grayscale), deflate, adaptive filtering, no interlace.
    header.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &header)?;
    chunk(
        &mut png,
        b"IDAT",
        &miniz_oxide::deflate::compress_to_vec_zlib(&raw, 9),
    )?;
    chunk(&mut png, b"IEND", &[])?;
    Some(png)
}

/// Appends one chunk: length, type, data, and the CRC-32 of type and data.
fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) -> Option<()> {
    png.extend_from_slice(&u32::try_from(data.len()).ok()?.to_be_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    png.extend_from_slice(&crc.finalize().to_be_bytes());
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_png_is_well_formed() {
        let png = qr_code("otpauth://totp/alice@000000000000?secret=JBSWY3DPEHPK3PXP").unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(&png[12..16], b"IHDR");
        let side = u32::from_be_bytes(png[16..20].try_into().unwrap());
        assert_eq!(side % 4, 0);
        assert!(side >= (21 + 8) * 4);
        assert!(png.ends_with(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xae, 0x42, 0x60, 0x82]));
        let idat = png.windows(4).position(|w| w == b"IDAT").unwrap();
        let len = u32::from_be_bytes(png[idat - 4..idat].try_into().unwrap()) as usize;
        let raw =
            miniz_oxide::inflate::decompress_to_vec_zlib(&png[idat + 4..idat + 4 + len]).unwrap();
        assert_eq!(raw.len(), side as usize * (side as usize + 1));
        assert!(raw.contains(&0x00) && raw.contains(&0xff));
    }
}
