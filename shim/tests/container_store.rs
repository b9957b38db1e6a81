//! The state directory on disk: records written durably, a create of a taken id refused even
//! when two race, ids that could name another file refused, removal idempotent.

use std::sync::{Arc, Barrier};
use zelle_core::runtime::{ContainerState, ContainerStore, Status, StoreError};
use zelle_shim::FileContainerStore;

fn record(id: &str) -> ContainerState {
    ContainerState::new(id, "/run/b", "/run/b/rootfs")
}

#[test]
fn records_go_in_and_out_of_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileContainerStore::new(dir.path().join("state")).unwrap();
    assert_eq!(store.load("web").unwrap(), None);
    store.insert(&record("web")).unwrap();
    assert_eq!(
        store.insert(&record("web")).unwrap_err(),
        StoreError::Exists("web".into())
    );
    let mut state = record("web");
    state.status = Status::Created;
    state.jail = Some("web".into());
    store.save(&state).unwrap();
    // A second store on the same directory (another shim process) reads what the first wrote.
    let other = FileContainerStore::new(dir.path().join("state")).unwrap();
    assert_eq!(other.load("web").unwrap(), Some(state));
    store.insert(&record("db")).unwrap();
    assert_eq!(other.ids().unwrap(), vec!["db", "web"]);
    other.remove("web").unwrap();
    other.remove("web").unwrap();
    assert_eq!(store.ids().unwrap(), vec!["db"]);
    // Only records are left: no temporary files.
    let names: Vec<String> = std::fs::read_dir(store.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["db.json"]);
}

#[test]
fn ids_that_would_name_another_file_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileContainerStore::new(dir.path()).unwrap();
    for id in ["", "../x", "a/b", ".hidden"] {
        let err = store.insert(&record(id)).unwrap_err();
        assert!(
            err.to_string().contains("cannot name a file"),
            "{id:?}: {err}"
        );
        assert!(store.load(id).is_err(), "{id:?}");
    }
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

#[test]
fn of_two_creates_of_one_id_racing_exactly_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..20 {
        let id = format!("c{round}");
        let barrier = Arc::new(Barrier::new(2));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (dir, barrier, id) = (dir.path().to_path_buf(), barrier.clone(), id.clone());
                std::thread::spawn(move || {
                    let store = FileContainerStore::new(dir).unwrap();
                    barrier.wait();
                    store.insert(&record(&id))
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        assert!(results.contains(&Err(StoreError::Exists(id))));
    }
}
