//! Work in a jail's vnet. A socket acts in the vnet it was created in (if.c `ifioctl`:
//! `CURVNET_SET(so->so_vnet)`), so a jail's interfaces and routes are reached from a process
//! attached to the jail: a child forked per call, or, while a session for the jail is open
//! ([`NetworkInterfaces::vnet_session`]), one helper forked for the whole session.
//!
//! A helper lives on after the call that made it, so it cannot run a closure made later: the
//! work travels to it as a [`VnetTask`], the kernel structs built (and checked) by the parent,
//! serialised; the helper runs it with the same code as a per-call child or the host.
//!
//! [`NetworkInterfaces::vnet_session`]: zelle_core::kernel::NetworkInterfaces::vnet_session

use crate::net::{self, IfreqOut};
use crate::syscalls::{JailServer, JailSession};
use crate::{route, Syscalls};
use core::ffi::c_int;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use zelle_core::kernel::net::Route;
use zelle_core::kernel::{Errno, Jid};
use zelle_sys::ioctl::{self, Request};
use zelle_sys::{from_bytes, ifreq, Zeroed, AF_INET, AF_INET6};

/// The ifreq requests that carry no pointer: each answers with [`IfreqOut`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum IfreqCall {
    Create,
    Destroy,
    GetFlags,
    SetFlags,
    SetMtu,
    DeleteInetAlias,
    MoveToJail,
    ReclaimFromJail,
}

impl IfreqCall {
    fn request(self) -> Request<ifreq> {
        match self {
            IfreqCall::Create => ioctl::SIOCIFCREATE2,
            IfreqCall::Destroy => ioctl::SIOCIFDESTROY,
            IfreqCall::GetFlags => ioctl::SIOCGIFFLAGS,
            IfreqCall::SetFlags => ioctl::SIOCSIFFLAGS,
            IfreqCall::SetMtu => ioctl::SIOCSIFMTU,
            IfreqCall::DeleteInetAlias => ioctl::SIOCDIFADDR,
            IfreqCall::MoveToJail => ioctl::SIOCSIFVNET,
            IfreqCall::ReclaimFromJail => ioctl::SIOCSIFRVNET,
        }
    }
}

/// One operation's calls in a vnet, with the kernel structs it sends as their bytes.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum VnetTask {
    Ifreq {
        call: IfreqCall,
        req: Vec<u8>,
    },
    /// SIOCSIFNAME: the ifreq naming the interface, and the new name (checked to fit).
    Rename {
        req: Vec<u8>,
        new_name: String,
    },
    /// SIOCAIFADDR with this in_aliasreq.
    AddInetAlias(Vec<u8>),
    /// SIOCAIFADDR_IN6 with this in6_aliasreq.
    AddInet6Alias(Vec<u8>),
    /// SIOCDIFADDR_IN6 with this in6_ifreq.
    DeleteInet6Alias(Vec<u8>),
    /// SIOCSDRVSPEC `cmd` to `bridge` with this ifbreq.
    BridgeMember {
        cmd: u32,
        bridge: String,
        breq: Vec<u8>,
    },
    ListInterfaces,
    /// An RTM_ADD or RTM_DELETE message (`kind`) with sequence number `seq`.
    Route {
        kind: u32,
        seq: c_int,
        route: Route,
    },
    ListRoutes,
}

/// The struct a task carries, from its bytes (EINVAL when they do not make one).
fn decode<T: Zeroed>(bytes: &[u8]) -> Result<T, Errno> {
    from_bytes(bytes).ok_or(Errno::EINVAL)
}

fn json<T: Serialize>(value: &T) -> Result<Vec<u8>, Errno> {
    serde_json::to_vec(value).map_err(|_| Errno::EIO)
}

impl VnetTask {
    /// Make the task's calls through `sys`, in the caller's vnet; the result as JSON.
    pub(crate) fn run<S: Syscalls>(&self, sys: &S) -> Result<Vec<u8>, Errno> {
        match self {
            VnetTask::Ifreq { call, req } => {
                let out = net::dgram_ioctl(sys, AF_INET, call.request(), decode(req)?)?;
                json(&IfreqOut::of(&out))
            }
            VnetTask::Rename { req, new_name } => json(&net::rename(sys, decode(req)?, new_name)?),
            VnetTask::AddInetAlias(req) => {
                let request = ioctl::SIOCAIFADDR;
                json(&net::dgram_ioctl(sys, AF_INET, request, decode(req)?).map(drop)?)
            }
            VnetTask::AddInet6Alias(req) => {
                let request = ioctl::SIOCAIFADDR_IN6;
                json(&net::dgram_ioctl(sys, AF_INET6, request, decode(req)?).map(drop)?)
            }
            VnetTask::DeleteInet6Alias(req) => {
                let request = ioctl::SIOCDIFADDR_IN6;
                json(&net::dgram_ioctl(sys, AF_INET6, request, decode(req)?).map(drop)?)
            }
            VnetTask::BridgeMember { cmd, bridge, breq } => {
                json(&net::bridge_member(sys, *cmd, bridge, decode(breq)?)?)
            }
            VnetTask::ListInterfaces => json(&net::list(sys)?),
            VnetTask::Route { kind, seq, route } => json(&route::send(sys, *kind, *seq, route)?),
            VnetTask::ListRoutes => json(&route::list(sys)?),
        }
    }
}

/// What a session's helper runs: each request a [`VnetTask`].
pub(crate) struct Server<'a, S>(pub(crate) &'a S);

impl<S: Syscalls> JailServer for Server<'_, S> {
    fn serve(&self, request: &[u8]) -> Result<Vec<u8>, Errno> {
        let task: VnetTask = serde_json::from_slice(request).map_err(|_| Errno::EINVAL)?;
        task.run(self.0)
    }
}

/// The open sessions, by jail: how many `vnet_session` calls share each, and its helper
/// (`None` once it is gone; the session's calls then fork one by one).
#[derive(Default)]
pub(crate) struct Sessions(Mutex<BTreeMap<Jid, Open>>);

struct Open {
    users: usize,
    helper: Arc<Mutex<Option<JailSession>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Sessions {
    /// Join the session for `jid`, starting its helper if there is none. The error is the
    /// helper's (fork, jail_attach); nothing is joined then.
    pub(crate) fn enter<S: Syscalls>(&self, sys: &S, jid: Jid) -> Result<(), Errno> {
        let mut open = lock(&self.0);
        if let Some(session) = open.get_mut(&jid) {
            session.users += 1;
            return Ok(());
        }
        let helper = sys.jail_session_open(jid.0, &Server(sys))?;
        open.insert(
            jid,
            Open {
                users: 1,
                helper: Arc::new(Mutex::new(Some(helper))),
            },
        );
        Ok(())
    }

    /// Leave the session for `jid` (joined by [`Sessions::enter`]); the last one out ends it.
    pub(crate) fn leave<S: Syscalls>(&self, sys: &S, jid: Jid) {
        let ended = {
            let mut open = lock(&self.0);
            match open.get_mut(&jid) {
                Some(session) if session.users > 1 => {
                    session.users -= 1;
                    None
                }
                Some(_) => open.remove(&jid),
                None => None,
            }
        };
        if let Some(helper) = ended.and_then(|s| lock(&s.helper).take()) {
            let _ = sys.jail_session_close(helper);
        }
    }

    /// Run `task` in the helper of `jid`'s session; `None` without a live one. A helper found
    /// gone (jail_remove kills it with the jail) ends the session's helper: the caller forks
    /// for this call and the next ones, and a jail that is gone then fails as jail_attach.
    pub(crate) fn call<S: Syscalls>(
        &self,
        sys: &S,
        jid: Jid,
        task: &VnetTask,
    ) -> Option<Result<Vec<u8>, Errno>> {
        let helper = lock(&self.0).get(&jid)?.helper.clone();
        let mut helper = lock(&helper);
        let session = (*helper)?;
        let request = serde_json::to_vec(task).ok()?;
        match sys.jail_session_call(session, &request, &Server(sys)) {
            Ok(answer) => Some(answer),
            Err(_) => {
                let _ = sys.jail_session_close(session);
                *helper = None;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscalls::MockSyscalls;
    use zelle_core::kernel::net::Gateway;

    #[test]
    fn a_task_arrives_as_it_was_sent() {
        let tasks = [
            VnetTask::Ifreq {
                call: IfreqCall::SetMtu,
                req: vec![7; 32],
            },
            VnetTask::Rename {
                req: vec![1; 32],
                new_name: "eth0".into(),
            },
            VnetTask::BridgeMember {
                cmd: 1,
                bridge: "bridge0".into(),
                breq: vec![2; 80],
            },
            VnetTask::Route {
                kind: 1,
                seq: 9,
                route: Route {
                    dest: "0.0.0.0/0".parse().unwrap(),
                    gateway: Gateway::Interface("eth0".into()),
                },
            },
            VnetTask::ListRoutes,
        ];
        for task in tasks {
            let bytes = serde_json::to_vec(&task).unwrap();
            assert_eq!(serde_json::from_slice::<VnetTask>(&bytes).unwrap(), task);
        }
    }

    #[test]
    fn a_server_refuses_what_is_no_task_or_no_struct() {
        let sys = MockSyscalls::new();
        assert_eq!(Server(&sys).serve(b"not json"), Err(Errno::EINVAL));
        // An ifreq of the wrong length makes no call at all.
        let short = serde_json::to_vec(&VnetTask::AddInetAlias(vec![0; 3])).unwrap();
        assert_eq!(Server(&sys).serve(&short), Err(Errno::EINVAL));
    }
}
