//! What a session records about the device it logged in from, for a list of a user's
//! sessions ("Firefox on Linux, last active an hour ago"): the `User-Agent` by default, and
//! the client's IP address only when the app opts in, as it is personal data. Recorded in
//! the reserved field [`DEVICE_FIELD`](crate::store::DEVICE_FIELD) by the create that
//! enters a per-user index (a login, or a renewal), never on other requests; bounded in
//! length on the way in and on the way out.

use actix_web::HttpRequest;
use serde::{Deserialize, Serialize};

/// The longest user agent kept, in bytes; longer ones are cut (at a character boundary).
const MAX_USER_AGENT: usize = 256;
/// The longest address kept: an IPv6 address with a zone fits.
const MAX_IP: usize = 64;
/// A stored record longer than this is not read at all.
const MAX_RECORD: usize = 1024;

/// What the app chose to record (builder options `record_user_agent`, `record_client_ip`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeviceRecording {
    pub(crate) user_agent: bool,
    pub(crate) client_ip: bool,
    /// Whether the address comes from `Forwarded`/`X-Forwarded-For` (the app said its
    /// proxy sets them) rather than from the connection's peer.
    pub(crate) trust_forwarded: bool,
}

/// The device a session logged in from, as stored: short keys, absent parts left out.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Device {
    #[serde(rename = "ua", default, skip_serializing_if = "Option::is_none")]
    pub(crate) user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ip: Option<String>,
}

impl DeviceRecording {
    /// The record for a login made by `req`; `None` when there is nothing to record.
    pub(crate) fn record(&self, req: &HttpRequest) -> Option<Vec<u8>> {
        let user_agent = self
            .user_agent
            .then(|| req.headers().get(actix_web::http::header::USER_AGENT))
            .flatten()
            .map(|value| bounded(&String::from_utf8_lossy(value.as_bytes()), MAX_USER_AGENT));
        let ip = self.client_ip.then(|| self.client_ip_of(req)).flatten();
        let device = Device { user_agent, ip };
        if device == Device::default() {
            return None;
        }
        serde_json::to_vec(&device).ok()
    }

    fn client_ip_of(&self, req: &HttpRequest) -> Option<String> {
        let address = if self.trust_forwarded {
            req.connection_info()
                .realip_remote_addr()
                .map(str::to_owned)
        } else {
            req.peer_addr().map(|peer| peer.ip().to_string())
        };
        address.map(|address| bounded(&address, MAX_IP))
    }
}

impl Device {
    /// Reads a stored record; anything that is not one (too long, not JSON) is no device.
    pub(crate) fn parse(stored: &[u8]) -> Option<Self> {
        if stored.len() > MAX_RECORD {
            return None;
        }
        let device: Device = serde_json::from_slice(stored).ok()?;
        Some(Device {
            user_agent: device
                .user_agent
                .map(|agent| bounded(&agent, MAX_USER_AGENT)),
            ip: device.ip.map(|ip| bounded(&ip, MAX_IP)),
        })
    }
}

/// `text` cut to at most `max` bytes, at a character boundary, without control characters.
fn bounded(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    for c in text.chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;
    use actix_web::test::TestRequest;

    use super::*;

    const ALL: DeviceRecording = DeviceRecording {
        user_agent: true,
        client_ip: true,
        trust_forwarded: false,
    };

    #[test]
    fn a_login_records_the_user_agent_and_the_address_only_when_asked() {
        let req = TestRequest::default()
            .insert_header(("user-agent", "Firefox/140"))
            .insert_header(("x-forwarded-for", "203.0.113.9"))
            .peer_addr("192.0.2.1:4000".parse().unwrap())
            .to_http_request();
        let device = |recording: DeviceRecording| {
            recording
                .record(&req)
                .and_then(|stored| Device::parse(&stored))
        };
        assert_eq!(
            device(ALL),
            Some(Device {
                user_agent: Some("Firefox/140".into()),
                ip: Some("192.0.2.1".into()),
            })
        );
        let forwarded = DeviceRecording {
            trust_forwarded: true,
            ..ALL
        };
        assert_eq!(
            device(forwarded).and_then(|d| d.ip),
            Some("203.0.113.9".into())
        );
        let agent_only = DeviceRecording {
            client_ip: false,
            ..ALL
        };
        assert_eq!(device(agent_only).and_then(|d| d.ip), None);
        let nothing = DeviceRecording {
            user_agent: false,
            client_ip: false,
            trust_forwarded: false,
        };
        assert_eq!(nothing.record(&req), None);
    }

    #[test]
    fn records_are_bounded_going_in_and_coming_out() {
        let long = format!("\t{}é{}", "x".repeat(MAX_USER_AGENT - 1), "z".repeat(1000));
        let value = HeaderValue::from_bytes(long.as_bytes()).unwrap();
        let req = TestRequest::default()
            .insert_header(("user-agent", value))
            .to_http_request();
        let stored = ALL.record(&req).expect("a record");
        let agent = Device::parse(&stored).and_then(|d| d.user_agent).unwrap();
        // The control character is dropped, and the `é` that would straddle the limit too.
        assert_eq!(agent, "x".repeat(MAX_USER_AGENT - 1));

        let forged = format!(r#"{{"ua":"{}","ip":"1.2.3.4"}}"#, "y".repeat(500));
        let device = Device::parse(forged.as_bytes()).unwrap();
        assert_eq!(device.user_agent.map(|a| a.len()), Some(MAX_USER_AGENT));
        assert_eq!(Device::parse(&vec![b' '; MAX_RECORD + 1]), None);
        assert_eq!(Device::parse(b"not json"), None);
    }
}
