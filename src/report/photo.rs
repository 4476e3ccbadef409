//! The photo pipeline: sniff → check the header → decode with limits → orient → strip → resize.
//!
//! The real format is read from the bytes, never from the file name or the declared type. The
//! pixel count is read from the header *before* decoding, so a decompression bomb (a small file
//! that claims a huge picture) is refused without allocating anything. EXIF orientation is
//! applied before the metadata is dropped (re-encoding writes none), so photos are upright and
//! carry no GPS trail once served. Everything here is CPU-bound and synchronous: callers run it
//! on the blocking pool.

use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};
use std::io::Cursor;

/// Quality of the normalized JPEGs; 85 keeps small print legible at a third of the size of 95.
const JPEG_QUALITY: u8 = 85;

/// Accepted photo formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    WebP,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::WebP => "webp",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        [Format::Jpeg, Format::Png, Format::WebP]
            .into_iter()
            .find(|f| f.as_str() == s)
    }

    /// The MIME type of an original in this format.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::WebP => "image/webp",
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            Format::Jpeg => ImageFormat::Jpeg,
            Format::Png => ImageFormat::Png,
            Format::WebP => ImageFormat::WebP,
        }
    }
}

/// Limits and sizes of the pipeline.
#[derive(Debug, Clone)]
pub struct PhotoLimits {
    /// Largest upload, bytes.
    pub max_bytes: usize,
    /// Largest picture, pixels (width × height from the header).
    pub max_pixels: u64,
    /// Long side of the normalized JPEG, pixels.
    pub long_side: u32,
    /// Long side of the thumbnail, pixels.
    pub thumb_side: u32,
    /// Offset of EXIF times that carry none (`OffsetTimeOriginal` is rare), seconds east of UTC.
    pub exif_utc_offset_s: i32,
}

/// Why a photo was refused.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("is {0}, which is not accepted; send JPEG, PNG or WebP (on iPhone choose \"Most Compatible\" to get JPEG instead of HEIC)")]
    Unsupported(&'static str),
    #[error("is {bytes} bytes; the limit is {limit} bytes per photo")]
    TooLarge { bytes: usize, limit: usize },
    #[error("is {width} × {height} pixels ({} megapixels); the limit is {} megapixels", (*.width as u64 * *.height as u64) / 1_000_000, .limit / 1_000_000)]
    TooManyPixels { width: u32, height: u32, limit: u64 },
    #[error("is a truncated JPEG (it ends before its end-of-image marker); the upload was probably cut off, send it again")]
    Truncated,
    #[error("could not be decoded as {format}: {reason}")]
    Corrupt {
        format: &'static str,
        reason: String,
    },
    #[error("could not be re-encoded: {0}")]
    Encode(String),
}

/// What the EXIF block said, when there was one.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ExifInfo {
    /// `(lon, lat)` in WGS84 degrees (GPS receivers record WGS84).
    pub gps: Option<(f64, f64)>,
    /// `DateTimeOriginal` as Unix ms.
    pub taken_at: Option<i64>,
    /// EXIF orientation 1–8 (1 when absent).
    pub orientation: u8,
}

/// A photo after the pipeline.
#[derive(Debug, Clone)]
pub struct Processed {
    /// SHA-256 of the uploaded bytes, hex: the photo's id and content address.
    pub id: String,
    pub format: Format,
    /// Size of the normalized JPEG (upright), pixels.
    pub width: u32,
    pub height: u32,
    pub normalized: Vec<u8>,
    pub thumb: Vec<u8>,
    pub exif: ExifInfo,
}

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The real format of `bytes`, from their magic numbers.
pub fn sniff(bytes: &[u8]) -> Result<Format, PhotoError> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Format::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Format::Png);
    }
    if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Ok(Format::WebP);
    }
    Err(PhotoError::Unsupported(describe(bytes)))
}

/// Names what an unaccepted upload looks like, so the error can say it.
fn describe(bytes: &[u8]) -> &'static str {
    if bytes.is_empty() {
        return "empty";
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        return match &bytes[8..12] {
            b"heic" | b"heix" | b"hevc" | b"heim" | b"heis" | b"hevm" | b"hevs" | b"mif1"
            | b"msf1" => "HEIC/HEIF",
            b"avif" | b"avis" => "AVIF",
            _ => "an MP4/QuickTime video",
        };
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return "GIF";
    }
    if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        return "TIFF";
    }
    if bytes.starts_with(b"BM") {
        return "BMP";
    }
    if bytes.starts_with(b"%PDF") {
        return "PDF";
    }
    let head = &bytes[..bytes.len().min(512)];
    let text = std::str::from_utf8(head).is_ok_and(|s| {
        s.chars()
            .all(|c| !c.is_control() || c.is_ascii_whitespace())
    });
    if text {
        "text, not an image"
    } else {
        "not an image format we know"
    }
}

/// Whether a JPEG reaches its end-of-image marker after the first scan. Decoders are lenient with
/// cut-off files (they fill the rest grey), which would store a half photo as evidence.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    // Walk the marker segments up to the first start-of-scan; after it, the entropy-coded data
    // escapes every 0xFF, so FF D9 can only be the end-of-image marker.
    let mut i = 2;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return false;
        }
        let marker = bytes[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        if marker == 0xDA {
            let scan = &bytes[(i + 2 + len).min(bytes.len())..];
            return scan.windows(2).any(|w| w == [0xFF, 0xD9]);
        }
        i += 2 + len;
    }
    false
}

/// Width and height from the header, without decoding pixels.
pub fn dimensions(bytes: &[u8], format: Format) -> Result<(u32, u32), PhotoError> {
    ImageReader::with_format(Cursor::new(bytes), format.image_format())
        .into_dimensions()
        .map_err(|e| PhotoError::Corrupt {
            format: format.as_str(),
            reason: e.to_string(),
        })
}

/// Reads GPS, capture time and orientation from the EXIF block, if any. Never fails: a photo
/// with broken EXIF is still a photo.
pub fn read_exif(bytes: &[u8], utc_offset_s: i32) -> ExifInfo {
    use exif::{In, Tag, Value};
    let mut info = ExifInfo {
        orientation: 1,
        ..Default::default()
    };
    let Ok(ex) = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) else {
        return info;
    };
    if let Some(o) = ex
        .get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .filter(|o| (1..=8).contains(o))
    {
        info.orientation = o as u8;
    }
    let degrees = |tag| -> Option<f64> {
        match &ex.get_field(tag, In::PRIMARY)?.value {
            Value::Rational(v) if v.len() >= 3 && v.iter().all(|r| r.denom != 0) => {
                Some(v[0].to_f64() + v[1].to_f64() / 60.0 + v[2].to_f64() / 3600.0)
            }
            _ => None,
        }
    };
    let hemisphere = |tag| -> Option<u8> {
        match &ex.get_field(tag, In::PRIMARY)?.value {
            Value::Ascii(v) => v.first()?.first().copied(),
            _ => None,
        }
    };
    if let (Some(lat), Some(lon)) = (degrees(Tag::GPSLatitude), degrees(Tag::GPSLongitude)) {
        let lat = if hemisphere(Tag::GPSLatitudeRef) == Some(b'S') {
            -lat
        } else {
            lat
        };
        let lon = if hemisphere(Tag::GPSLongitudeRef) == Some(b'W') {
            -lon
        } else {
            lon
        };
        // (0, 0) is what some phones write when they had no fix.
        if lat.abs() <= 90.0 && lon.abs() <= 180.0 && (lat, lon) != (0.0, 0.0) {
            info.gps = Some((lon, lat));
        }
    }
    let ascii = |tag| -> Option<Vec<u8>> {
        match &ex.get_field(tag, In::PRIMARY)?.value {
            Value::Ascii(v) => v.first().cloned(),
            _ => None,
        }
    };
    if let Some(mut dt) =
        ascii(Tag::DateTimeOriginal).and_then(|d| exif::DateTime::from_ascii(&d).ok())
    {
        if let Some(off) = ascii(Tag::OffsetTimeOriginal) {
            let _ = dt.parse_offset(&off);
        }
        let offset_s = dt.offset.map(|m| m as i32 * 60).unwrap_or(utc_offset_s);
        info.taken_at = exif_time_ms(&dt, offset_s);
    }
    info
}

fn exif_time_ms(dt: &exif::DateTime, offset_s: i32) -> Option<i64> {
    let month = time::Month::try_from(dt.month).ok()?;
    let date = time::Date::from_calendar_date(dt.year as i32, month, dt.day).ok()?;
    let t = time::Time::from_hms(dt.hour, dt.minute, dt.second).ok()?;
    let off = time::UtcOffset::from_whole_seconds(offset_s).ok()?;
    let at = time::PrimitiveDateTime::new(date, t).assume_offset(off);
    Some((at.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// Checks size, format, completeness and pixel count, then decodes with `image::Limits` as a
/// second guard. Returns the decoded picture, its format and EXIF.
pub fn decode(
    bytes: &[u8],
    limits: &PhotoLimits,
) -> Result<(DynamicImage, Format, ExifInfo), PhotoError> {
    if bytes.len() > limits.max_bytes {
        return Err(PhotoError::TooLarge {
            bytes: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let format = sniff(bytes)?;
    if format == Format::Jpeg && !jpeg_is_complete(bytes) {
        return Err(PhotoError::Truncated);
    }
    let (width, height) = dimensions(bytes, format)?;
    if width as u64 * height as u64 > limits.max_pixels || width == 0 || height == 0 {
        return Err(PhotoError::TooManyPixels {
            width,
            height,
            limit: limits.max_pixels,
        });
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    let mut l = Limits::default();
    l.max_image_width = Some(width);
    l.max_image_height = Some(height);
    // RGBA at 8 bits plus decoder scratch; a file lying about its size fails here, not in malloc.
    l.max_alloc = Some(limits.max_pixels * 4 * 2);
    reader.limits(l);
    let mut img = reader.decode().map_err(|e| PhotoError::Corrupt {
        format: format.as_str(),
        reason: e.to_string(),
    })?;
    let exif = read_exif(bytes, limits.exif_utc_offset_s);
    if let Some(o) = image::metadata::Orientation::from_exif(exif.orientation) {
        img.apply_orientation(o);
    }
    Ok((img, format, exif))
}

/// Shrinks `img` so that its long side is at most `long_side` (never enlarges). Uses the
/// area-averaging `thumbnail` scaler: for large reductions it looks as good as a triangle
/// filter and costs a fraction.
pub fn shrink(img: &DynamicImage, long_side: u32) -> DynamicImage {
    if img.width().max(img.height()) <= long_side {
        return img.clone();
    }
    img.thumbnail(long_side, long_side)
}

/// Encodes a baseline JPEG with `jpeg-encoder` (SIMD where the CPU has it): about three times
/// faster than `image`'s encoder, and re-encoding is the largest cost the server adds to a photo.
/// It writes no metadata, which is what strips EXIF.
pub fn encode_jpeg(img: &DynamicImage) -> Result<Vec<u8>, PhotoError> {
    let rgb;
    let (data, color) = match img {
        DynamicImage::ImageRgb8(b) => (b.as_raw(), jpeg_encoder::ColorType::Rgb),
        DynamicImage::ImageLuma8(b) => (b.as_raw(), jpeg_encoder::ColorType::Luma),
        other => {
            // JPEG has no alpha; flatten to RGB.
            rgb = other.to_rgb8();
            (rgb.as_raw(), jpeg_encoder::ColorType::Rgb)
        }
    };
    let (w, h) = (
        u16::try_from(img.width())
            .map_err(|_| PhotoError::Encode("wider than 65 535 px".into()))?,
        u16::try_from(img.height())
            .map_err(|_| PhotoError::Encode("taller than 65 535 px".into()))?,
    );
    let mut out = Vec::with_capacity(256 << 10);
    jpeg_encoder::Encoder::new(&mut out, JPEG_QUALITY)
        .encode(data, w, h, color)
        .map_err(|e| PhotoError::Encode(e.to_string()))?;
    Ok(out)
}

/// The whole pipeline for one upload.
pub fn process(bytes: &[u8], limits: &PhotoLimits) -> Result<Processed, PhotoError> {
    let (img, format, exif) = decode(bytes, limits)?;
    let normal = shrink(&img, limits.long_side);
    drop(img);
    let thumb = shrink(&normal, limits.thumb_side);
    Ok(Processed {
        id: sha256_hex(bytes),
        format,
        width: normal.width(),
        height: normal.height(),
        normalized: encode_jpeg(&normal)?,
        thumb: encode_jpeg(&thumb)?,
        exif,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder, RgbImage};

    fn limits() -> PhotoLimits {
        PhotoLimits {
            max_bytes: 20 << 20,
            max_pixels: 80_000_000,
            long_side: 2048,
            thumb_side: 320,
            exif_utc_offset_s: 8 * 3600,
        }
    }

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .encode_image(&img)
            .unwrap();
        out
    }

    #[test]
    fn sniffs_by_bytes_and_names_what_it_refuses() {
        assert_eq!(sniff(&jpeg(8, 8)).unwrap(), Format::Jpeg);
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
        let e = sniff(heic).unwrap_err().to_string();
        assert!(e.contains("HEIC"), "{e}");
        assert!(sniff(b"GIF89a....")
            .unwrap_err()
            .to_string()
            .contains("GIF"));
        assert!(sniff(b"II*\0abcd")
            .unwrap_err()
            .to_string()
            .contains("TIFF"));
        assert!(sniff(b"hello, I am a text file\n")
            .unwrap_err()
            .to_string()
            .contains("text"));
    }

    #[test]
    fn shrinks_to_long_side_and_thumb() {
        let p = process(&jpeg(3000, 1000), &limits()).unwrap();
        assert_eq!((p.width, p.height), (2048, 683));
        let t = image::load_from_memory(&p.thumb).unwrap();
        assert_eq!(t.width(), 320);
        assert_eq!(p.id, sha256_hex(&jpeg(3000, 1000)));
    }

    #[test]
    fn truncated_jpeg_is_refused() {
        let mut j = jpeg(64, 64);
        j.truncate(j.len() * 2 / 3);
        assert!(matches!(process(&j, &limits()), Err(PhotoError::Truncated)));
    }

    #[test]
    fn bomb_png_is_refused_from_the_header() {
        // A real 1×1 PNG whose IHDR is then rewritten to claim 100 000 × 100 000.
        let mut png = Vec::new();
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(&[0, 0, 0], 1, 1, image::ExtendedColorType::Rgb8)
            .unwrap();
        png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        match process(&png, &limits()) {
            Err(PhotoError::TooManyPixels { width, height, .. }) => {
                assert_eq!((width, height), (100_000, 100_000))
            }
            other => panic!("{other:?}"),
        }
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for &b in data {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    #[test]
    fn too_large_by_bytes() {
        let l = PhotoLimits {
            max_bytes: 100,
            ..limits()
        };
        assert!(matches!(
            process(&jpeg(64, 64), &l),
            Err(PhotoError::TooLarge { .. })
        ));
    }
}
