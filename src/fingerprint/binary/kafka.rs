//! Kafka's ApiVersions response, version 0 (Apache Kafka protocol guide: "Common Request and
//! Response Structure", ApiVersions Response (Version: 0) => error_code [api_key min_version
//! max_version]): how many APIs the broker serves and the highest versions it speaks. Version
//! 0 is answered in version 0 by every broker since 0.10, even when it refuses it (error 35,
//! UNSUPPORTED_VERSION, with the versions it does serve).

use super::{num, Fields, Reader};

/// Most API entries a broker plausibly lists (Kafka 4.x serves about 90).
const MAX_APIS: usize = 1000;
/// The ApiVersions API key.
const API_VERSIONS: i16 = 18;
/// The Metadata API key.
const METADATA: i16 = 3;
/// The Fetch API key.
const FETCH: i16 = 1;
/// The Produce API key.
const PRODUCE: i16 = 0;

/// Whether `b` is one whole ApiVersions v0 response: a size that is exactly the rest, an
/// error code Kafka defines, and a list of API keys whose lengths add up.
pub fn looks_like(b: &[u8]) -> bool {
    entries(b).is_some()
}

/// One API a broker serves: key, lowest and highest version.
type Api = (i16, i16, i16);

/// The error code and the APIs of a v0 ApiVersions response.
fn entries(b: &[u8]) -> Option<(i16, Vec<Api>)> {
    let mut r = Reader::new(b);
    let size = usize::try_from(r.u32_be()?).ok()?;
    let _correlation = r.u32_be()?;
    let error = r.u16_be()? as i16;
    let count = usize::try_from(r.u32_be()?).ok()?;
    if !(1..=MAX_APIS).contains(&count) || size != 4 + 2 + 4 + 6 * count || b.len() < 4 + size {
        return None;
    }
    // 0 NONE, 35 UNSUPPORTED_VERSION are what a broker answers an ApiVersions request with.
    if error != 0 && error != 35 {
        return None;
    }
    let mut apis = Vec::with_capacity(count);
    for _ in 0..count {
        let key = r.u16_be()? as i16;
        let min = r.u16_be()? as i16;
        let max = r.u16_be()? as i16;
        if !(0..=10_000).contains(&key) || min < 0 || max < min || max > 1000 {
            return None;
        }
        apis.push((key, min, max));
    }
    apis.iter().any(|a| a.0 == API_VERSIONS).then_some((error, apis))
}

pub fn decode(b: &[u8]) -> Option<Fields> {
    let (error, apis) = entries(b)?;
    let max_of = |key: i16| apis.iter().find(|a| a.0 == key).map(|a| num(a.2));
    let mut fields = Fields::new();
    fields.push(("kafka.error_code", num(error)));
    fields.push(("kafka.api_count", num(apis.len())));
    let highest = apis.iter().map(|a| a.0).max().unwrap_or(0);
    fields.push(("kafka.highest_api_key", num(highest)));
    for (key, name) in [
        (API_VERSIONS, "kafka.api_versions_max"),
        (METADATA, "kafka.metadata_max"),
        (FETCH, "kafka.fetch_max"),
        (PRODUCE, "kafka.produce_max"),
    ] {
        if let Some(v) = max_of(key) {
            fields.push((name, v));
        }
    }
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ApiVersions v0 response as the protocol guide lays it out.
    pub(crate) fn response(error: i16, apis: &[Api]) -> Vec<u8> {
        let mut body = 0x5050_0000u32.to_be_bytes().to_vec();
        body.extend_from_slice(&error.to_be_bytes());
        body.extend_from_slice(&(apis.len() as u32).to_be_bytes());
        for (k, lo, hi) in apis {
            for v in [k, lo, hi] {
                body.extend_from_slice(&v.to_be_bytes());
            }
        }
        let mut out = (body.len() as u32).to_be_bytes().to_vec();
        out.extend(body);
        out
    }

    #[test]
    fn api_versions() {
        let b = response(0, &[(0, 0, 9), (1, 0, 13), (3, 0, 12), (18, 0, 3), (67, 0, 0)]);
        let f = decode(&b).unwrap();
        let get = |n: &str| {
            f.iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        };
        assert_eq!(get("kafka.api_count").as_deref(), Some("5"));
        assert_eq!(get("kafka.highest_api_key").as_deref(), Some("67"));
        assert_eq!(get("kafka.api_versions_max").as_deref(), Some("3"));
        assert_eq!(get("kafka.metadata_max").as_deref(), Some("12"));
        assert_eq!(get("kafka.fetch_max").as_deref(), Some("13"));
        for cut in 0..b.len() {
            assert!(decode(&b[..cut]).is_none());
        }
        // No ApiVersions entry, an unknown error code, a maximum below the minimum: not Kafka.
        assert!(decode(&response(0, &[(0, 0, 9)])).is_none());
        assert!(decode(&response(7, &[(18, 0, 3)])).is_none());
        assert!(decode(&response(0, &[(18, 3, 1)])).is_none());
        assert!(decode(&response(35, &[(18, 0, 3)])).is_some());
    }
}
