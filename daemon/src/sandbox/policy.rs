//! The sandbox settings: the policy of `--sandbox`, `--sandbox-writable`
//! and `--sandbox-network`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// What a sandboxed session may do on the network.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Network {
    /// No restriction.
    #[default]
    Allow,
    /// No network at all (Linux: an empty network namespace).
    Off,
    /// TCP connections only to these ports (Linux: Landlock ABI 4).
    Ports(Vec<u16>),
}

impl FromStr for Network {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "allow" => Ok(Self::Allow),
            "off" => Ok(Self::Off),
            list => {
                let mut ports = Vec::new();
                for p in list.split(',').map(str::trim) {
                    match p.parse::<u16>() {
                        Ok(n) if n > 0 => {
                            if !ports.contains(&n) {
                                ports.push(n);
                            }
                        }
                        _ => {
                            return Err(format!(
                                "{s:?}: give off, allow, or TCP ports separated by commas \
                                 (1 to 65535), e.g. 443,22"
                            ));
                        }
                    }
                }
                ports.sort_unstable();
                Ok(Self::Ports(ports))
            }
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Allow => f.write_str("allow"),
            Self::Off => f.write_str("off"),
            Self::Ports(p) => {
                let list: Vec<String> = p.iter().map(u16::to_string).collect();
                f.write_str(&list.join(","))
            }
        }
    }
}

/// The sandbox settings of the daemon (`--sandbox`, `--sandbox-writable`,
/// `--sandbox-network`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Whether sessions are sandboxed unless `rcctl new --no-sandbox`.
    pub enabled: bool,
    /// Extra writable paths (absolute), besides the working directory and
    /// the private temporary directory.
    pub writable: Vec<PathBuf>,
    pub network: Network,
    /// Files a sandboxed session must not read (rcd's relay enrollment
    /// token): `/dev/null` is bound over them in its mount namespace.
    pub secret_files: Vec<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_parses_and_prints() {
        assert_eq!("allow".parse::<Network>(), Ok(Network::Allow));
        assert_eq!("off".parse::<Network>(), Ok(Network::Off));
        assert_eq!(
            "443, 22,443".parse::<Network>(),
            Ok(Network::Ports(vec![22, 443]))
        );
        assert_eq!(Network::Ports(vec![22, 443]).to_string(), "22,443");
        for bad in ["", "0", "70000", "on", "443,", "http"] {
            let e = bad.parse::<Network>().expect_err(bad);
            assert!(e.contains("off, allow, or TCP ports"), "{e}");
        }
    }
}
