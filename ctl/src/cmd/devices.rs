//! `rcctl devices`: the device tokens paired through the same enrollment
//! token as this one (this account's), and `rcctl devices revoke ID`.

use crate::backend::Backend;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub(crate) action: Option<Action>,
    /// Print JSON instead of text, for scripts.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Revoke the device token ID (from `rcctl devices`): that device can
    /// no longer reach the relay, and needs a new pairing.
    Revoke {
        /// The device's id, e.g. dev_3f9a0c1b2d4e.
        id: String,
    },
}

pub fn run(backend: &mut Backend, args: Args) -> anyhow::Result<()> {
    let relay = backend.relay("devices")?;
    if let Some(Action::Revoke { id }) = args.action {
        let id = id.trim();
        relay.revoke_device(id)?;
        let this = relay.this_device() == Some(id);
        println!(
            "device {id} revoked{}",
            if this {
                " (this device: rcctl logout forgets its stored token)"
            } else {
                ""
            }
        );
        return Ok(());
    }
    let list = relay.devices()?;
    let this = relay.this_device().map(str::to_string);
    if args.json {
        let rows: Vec<serde_json::Value> = list
            .iter()
            .map(|d| {
                let mut v = serde_json::to_value(d).unwrap_or_default();
                v["this_device"] = (this.as_deref() == Some(d.id.as_str())).into();
                v
            })
            .collect();
        return super::print_json(&rows);
    }
    let rows: Vec<[String; 4]> = list
        .iter()
        .map(|d| {
            let state = if d.revoked {
                "revoked"
            } else if this.as_deref() == Some(d.id.as_str()) {
                "this device"
            } else {
                "active"
            };
            [
                d.id.clone(),
                d.label.clone().unwrap_or_else(|| "-".into()),
                utc_day(d.created),
                state.into(),
            ]
        })
        .collect();
    super::print_table(["ID", "LABEL", "PAIRED", "STATE"], &rows);
    Ok(())
}

/// Unix seconds as `YYYY-MM-DD HH:MM` UTC.
fn utc_day(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Days to a civil date (the proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_read_in_utc() {
        assert_eq!(super::utc_day(0), "1970-01-01 00:00");
        assert_eq!(super::utc_day(951_782_400 + 3_660), "2000-02-29 01:01");
        assert_eq!(super::utc_day(1_767_225_599), "2025-12-31 23:59");
    }
}
