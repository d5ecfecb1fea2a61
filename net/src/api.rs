//! One typed method per relay route (docs/PROTOCOL.md, "Relay"): what it
//! sends, what it answers, its credential and its time limit. The paths
//! come from [`crate::routes`].

use crate::{DEFAULT_TIMEOUT, NetError, Relay, WebSocket, routes};
use rcd_proto::relay::{
    AttachTicket, CreateSession, Credential, DeviceToken, EnvironmentView, Heartbeat, PairRequest,
    PairingCode, RegisterRequest, RegisterResponse, Secret, TokenInfo, WorkItem, WorkResult,
};
use rcd_proto::{SessionInfo, StopReport};
use reqwest::Method;
use serde::de::IgnoredAny;
use std::time::Duration;

/// Time limit of the device calls that wait for a daemon (create, stop):
/// the relay gives the daemon 30 s before it answers `timeout` itself.
pub const WORK_TIMEOUT: Duration = Duration::from_secs(45);

/// Time limit of a deregistration (a daemon on its way out).
pub const DEREGISTER_TIMEOUT: Duration = Duration::from_secs(5);

/// How much longer than the relay's own hold a work poll may take.
pub const POLL_SLACK: Duration = Duration::from_secs(15);

/// Daemon routes.
impl Relay {
    /// `POST /environments/register` with the enrollment token.
    pub async fn register(
        &self,
        enrollment: &Secret,
        req: &RegisterRequest,
    ) -> Result<RegisterResponse, NetError> {
        self.post(routes::REGISTER, Some(enrollment), req).await
    }

    /// `DELETE /environments/{env}`.
    pub async fn deregister(&self, env: &str, credential: &Secret) -> Result<(), NetError> {
        self.call::<(), IgnoredAny>(
            Method::DELETE,
            &routes::environment(env),
            Some(credential),
            None,
            DEREGISTER_TIMEOUT,
        )
        .await
        .map(|_| ())
    }

    /// `POST /environments/{env}/refresh`: a new environment credential.
    pub async fn refresh(&self, env: &str, credential: &Secret) -> Result<Credential, NetError> {
        self.post(&routes::refresh(env), Some(credential), &())
            .await
    }

    /// `POST /environments/{env}/heartbeat`.
    pub async fn heartbeat(
        &self,
        env: &str,
        credential: &Secret,
        beat: &Heartbeat,
    ) -> Result<(), NetError> {
        self.call::<_, IgnoredAny>(
            Method::POST,
            &routes::heartbeat(env),
            Some(credential),
            Some(beat),
            DEFAULT_TIMEOUT,
        )
        .await
        .map(|_| ())
    }

    /// `POST /environments/{env}/pairing`: a one-time code for a device.
    pub async fn pairing_code(
        &self,
        env: &str,
        credential: &Secret,
    ) -> Result<PairingCode, NetError> {
        self.post(&routes::pairing(env), Some(credential), &())
            .await
    }

    /// `GET /environments/{env}/work`, held open by the relay up to
    /// `wait_secs`; `None` when no work came in that time.
    pub async fn poll_work(
        &self,
        env: &str,
        credential: &Secret,
        wait_secs: u64,
    ) -> Result<Option<WorkItem>, NetError> {
        self.call::<(), WorkItem>(
            Method::GET,
            &routes::work(env, wait_secs),
            Some(credential),
            None,
            Duration::from_secs(wait_secs) + POLL_SLACK,
        )
        .await
    }

    /// `POST /environments/{env}/work/{id}/result`.
    pub async fn post_work_result(
        &self,
        env: &str,
        credential: &Secret,
        id: &str,
        result: &WorkResult,
    ) -> Result<(), NetError> {
        self.call::<_, IgnoredAny>(
            Method::POST,
            &routes::work_result(env, id),
            Some(credential),
            Some(result),
            DEFAULT_TIMEOUT,
        )
        .await
        .map(|_| ())
    }

    /// `POST /environments/{env}/sessions/{name}/credential`: the
    /// credential of one session's link.
    pub async fn session_credential(
        &self,
        env: &str,
        name: &str,
        credential: &Secret,
    ) -> Result<Credential, NetError> {
        self.post(
            &routes::session_credential(env, name),
            Some(credential),
            &(),
        )
        .await
    }

    /// The WebSocket of one session's link, with its session credential.
    pub async fn session_link(
        &self,
        env: &str,
        name: &str,
        session_credential: &Secret,
    ) -> Result<WebSocket, NetError> {
        self.websocket(&routes::session_link(env, name), session_credential)
            .await
    }
}

/// Device routes.
impl Relay {
    /// `POST /pair`: a pairing code for a device token (no credential).
    pub async fn pair(&self, req: &PairRequest) -> Result<DeviceToken, NetError> {
        self.post(routes::PAIR, None, req).await
    }

    /// `GET /environments`: the device's environments and their sessions.
    pub async fn environments(&self, device: &Secret) -> Result<Vec<EnvironmentView>, NetError> {
        self.get(routes::ENVIRONMENTS, Some(device)).await
    }

    /// `POST /environments/{env}/sessions`: starts a session (work for the
    /// daemon, so up to [`WORK_TIMEOUT`]).
    pub async fn create_session(
        &self,
        device: &Secret,
        env: &str,
        req: &CreateSession,
    ) -> Result<SessionInfo, NetError> {
        self.call(
            Method::POST,
            &routes::sessions(env),
            Some(device),
            Some(req),
            WORK_TIMEOUT,
        )
        .await?
        .ok_or(NetError::Empty("a session creation"))
    }

    /// `DELETE /environments/{env}/sessions/{name}?force=…`: stops a
    /// session (work for the daemon, so up to [`WORK_TIMEOUT`]).
    pub async fn stop_session(
        &self,
        device: &Secret,
        env: &str,
        name: &str,
        force: bool,
    ) -> Result<StopReport, NetError> {
        self.call::<(), _>(
            Method::DELETE,
            &routes::stop(env, name, force),
            Some(device),
            None,
            WORK_TIMEOUT,
        )
        .await?
        .ok_or(NetError::Empty("a stop"))
    }

    /// `GET /environments/{env}/sessions/{name}/diff`: what a worktree
    /// session changed (work for the daemon).
    pub async fn diff(
        &self,
        device: &Secret,
        env: &str,
        name: &str,
        uncommitted: bool,
        stat: bool,
    ) -> Result<rcd_proto::diff::Diff, NetError> {
        self.call::<(), _>(
            Method::GET,
            &routes::diff(env, name, uncommitted, stat),
            Some(device),
            None,
            WORK_TIMEOUT,
        )
        .await?
        .ok_or(NetError::Empty("a diff"))
    }

    /// `POST /environments/{env}/sessions/{name}/answer`: answers the
    /// session's permission request (work for the daemon).
    pub async fn answer(
        &self,
        device: &Secret,
        env: &str,
        name: &str,
        req: &rcd_proto::relay::AnswerRequest,
    ) -> Result<(), NetError> {
        self.call::<_, IgnoredAny>(
            Method::POST,
            &routes::answer(env, name),
            Some(device),
            Some(req),
            WORK_TIMEOUT,
        )
        .await
        .map(|_| ())
    }

    /// `POST /environments/{env}/sessions/{name}/attach-ticket`: a
    /// one-time ticket for one attach socket.
    pub async fn attach_ticket(
        &self,
        device: &Secret,
        env: &str,
        name: &str,
    ) -> Result<AttachTicket, NetError> {
        self.call::<(), _>(
            Method::POST,
            &routes::attach_ticket(env, name),
            Some(device),
            None,
            DEFAULT_TIMEOUT,
        )
        .await?
        .ok_or(NetError::Empty("an attach ticket"))
    }

    /// The attach WebSocket of one session, with the device token.
    pub async fn attach(
        &self,
        device: &Secret,
        env: &str,
        name: &str,
    ) -> Result<WebSocket, NetError> {
        self.websocket(&routes::attach(env, name), device).await
    }

    /// `GET /devices`: the owner's device tokens.
    pub async fn devices(&self, device: &Secret) -> Result<Vec<TokenInfo>, NetError> {
        self.get(routes::DEVICES, Some(device)).await
    }

    /// `DELETE /devices/{id}`: revokes a device token.
    pub async fn revoke_device(&self, device: &Secret, id: &str) -> Result<(), NetError> {
        self.call::<(), IgnoredAny>(
            Method::DELETE,
            &routes::device(id),
            Some(device),
            None,
            DEFAULT_TIMEOUT,
        )
        .await
        .map(|_| ())
    }
}
