//! `rcctl answer`: answers a coding agent's permission request in a
//! session, locally or through a relay. The first answer wins; the agent
//! gets it as its hook's decision.

use crate::backend::Backend;
use rcd_proto::control::Decision;
use rcd_proto::relay::AnswerRequest;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The session. Through a relay: NAME, or ENV/NAME when two
    /// environments have a session of that name.
    pub(crate) name: String,
    /// `allow` or `deny`.
    #[arg(value_enum)]
    pub(crate) decision: Choice,
    /// The request to answer (its id, as `rcctl list --json` shows it
    /// under attention.request); without it, the one the session shows.
    #[arg(long, value_name = "ID")]
    pub(crate) id: Option<String>,
    /// With deny: what to tell the agent (e.g. what to do instead).
    #[arg(long, value_name = "TEXT")]
    pub(crate) message: Option<String>,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Choice {
    Allow,
    Deny,
}

pub fn run(backend: &mut Backend, args: Args) -> anyhow::Result<()> {
    let decision = match args.decision {
        Choice::Allow => Decision::Allow,
        Choice::Deny => Decision::Deny,
    };
    if args.message.is_some() && decision == Decision::Allow {
        anyhow::bail!("--message goes with deny: it tells the agent why, or what to do instead");
    }
    backend.answer(
        &args.name,
        AnswerRequest {
            id: args.id.clone(),
            decision,
            message: args.message,
        },
    )?;
    if args.json {
        return super::print_json(&serde_json::json!({
            "session": args.name,
            "id": args.id,
            "decision": decision.as_str(),
        }));
    }
    println!(
        "{}: {}",
        args.name,
        match decision {
            Decision::Allow => "allowed",
            Decision::Deny => "denied",
        }
    );
    Ok(())
}
