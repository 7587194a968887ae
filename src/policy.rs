//! The company policy (TOML) as the typed values the stages use. The regulation leaves
//! hours, targets and weights to the company; this file is where they live, with the
//! spec's defaults. Unknown keys and impossible values are rejected naming the key.

use std::path::Path;

use chrono_tz::Tz;
use serde::Deserialize;

use crate::error::{Error, IoContext, Result};

/// The policy as written in the file; every key optional (defaults apply).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    time_zone: Option<String>,
}

/// The validated policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Company time zone: timestamps without an offset are local to it, and the lake
    /// stores local wall-clock time in it.
    pub tz: Tz,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            tz: chrono_tz::Asia::Shanghai,
        }
    }
}

impl Policy {
    pub fn load(path: &Path) -> Result<Policy> {
        let text = std::fs::read_to_string(path).at(path)?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Policy> {
        let cfg = |key: &str, why: String| Error::Config {
            path: path.to_path_buf(),
            key: key.to_string(),
            why,
        };
        let f: PolicyFile = toml::from_str(text).map_err(|e| {
            let key = e
                .span()
                .map_or(String::from("(file)"), |s| text[s].to_string());
            cfg(&key, e.message().to_string())
        })?;
        let mut p = Policy::default();
        if let Some(z) = f.time_zone {
            p.tz = z.parse().map_err(|_| {
                cfg(
                    "time_zone",
                    format!("{z:?} is not an IANA time zone such as Asia/Shanghai"),
                )
            })?;
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_and_unknown_keys() {
        let p = Path::new("policy.toml");
        assert_eq!(Policy::parse("", p).unwrap().tz, chrono_tz::Asia::Shanghai);
        assert_eq!(
            Policy::parse("time_zone = \"Europe/Berlin\"", p)
                .unwrap()
                .tz,
            chrono_tz::Europe::Berlin
        );
        let e = Policy::parse("time_zone = \"Mars/Base\"", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("time_zone") && e.contains("Mars/Base"), "{e}");
        let e = Policy::parse("timezone = \"UTC\"", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("timezone"), "{e}");
    }
}
