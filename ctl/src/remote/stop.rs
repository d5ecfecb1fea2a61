//! `rcctl --relay URL stop NAME [--force]`.

use super::{Remote, WORK_TIMEOUT, seg};
use crate::cmd;
use anyhow::anyhow;
use rcd_proto::StopReport;

pub async fn run(remote: &Remote, args: cmd::stop::Args) -> anyhow::Result<()> {
    let target = remote.target(&args.name).await?;
    let report: StopReport = remote
        .relay
        .call::<(), _>(
            reqwest::Method::DELETE,
            &format!(
                "/environments/{}/sessions/{}?force={}",
                seg(&target.env_id),
                seg(&target.session),
                args.force
            ),
            Some(remote.token()?),
            None,
            WORK_TIMEOUT,
        )
        .await
        .map_err(|e| remote.error(e, Some(&args.name)))?
        .ok_or_else(|| anyhow!("the relay answered nothing to a stop"))?;
    cmd::stop::print_report(&report, args.json)
}
