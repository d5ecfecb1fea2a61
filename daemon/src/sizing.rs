//! Who decides a session's terminal size, without I/O.
//!
//! By default the session takes the size of whoever typed last (tmux's
//! `window-size latest`): every client says what it would drive (a
//! device in its hello and when it changes, `rcctl attach` its terminal),
//! and an input from a client of another size resizes the session before
//! it is written. In the `fixed` mode the size stays until someone
//! resizes it explicitly. Every change is a [`SizeNote`] that every
//! viewer is shown, so nobody is surprised by a screen that changed shape.

use crate::pty::Size;
use rcd_proto::stream::{SizeMode, SizeNote};

/// A session's size and how it is decided.
#[derive(Debug, Clone)]
pub struct Sizing {
    mode: SizeMode,
    size: Size,
    /// The client (a device's client id, or "local") that set the size,
    /// whose own size changes follow at once.
    driver: Option<String>,
    by: String,
    why: &'static str,
}

/// What a client's action asks of the terminal and the viewers.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Resize the terminal to this first.
    pub resize: Option<Size>,
    /// The note changed: tell every viewer.
    pub noted: bool,
}

impl Sizing {
    /// A session of `size` that nobody sized yet.
    pub fn new(size: Size) -> Self {
        Sizing {
            mode: SizeMode::Latest,
            size,
            driver: None,
            by: "the default".into(),
            why: "started",
        }
    }

    pub fn size(&self) -> Size {
        self.size
    }

    pub fn mode(&self) -> SizeMode {
        self.mode
    }

    /// What viewers are told.
    pub fn note(&self) -> SizeNote {
        self.note_for(None)
    }

    /// [`Sizing::note`] as sent to client `to`.
    pub fn note_for(&self, to: Option<&str>) -> SizeNote {
        SizeNote {
            rows: self.size.rows,
            cols: self.size.cols,
            mode: self.mode,
            by: self.by.clone(),
            why: self.why.into(),
            yours: to.is_some() && self.driver.as_deref() == to,
        }
    }

    fn set(&mut self, size: Size, who: &str, label: &str, why: &'static str) -> Outcome {
        let resize = (size != self.size).then_some(size);
        let noted = resize.is_some() || self.by != label || self.why != why;
        self.size = size;
        self.driver = Some(who.to_string());
        self.by = label.to_string();
        self.why = why;
        Outcome { resize, noted }
    }

    /// Client `who` (shown as `label`) typed, and would drive `want`: in
    /// the `latest` mode the session takes it. A client that said no
    /// size changes nothing.
    pub fn typed(&mut self, who: &str, label: &str, want: Option<Size>) -> Outcome {
        match want {
            Some(want) if self.mode == SizeMode::Latest => {
                if want == self.size && self.driver.as_deref() == Some(who) {
                    // The common case, once per key: nothing changes.
                    return Outcome::default();
                }
                self.set(want, who, label, "typed")
            }
            _ => Outcome::default(),
        }
    }

    /// Client `who`'s own size is now `size` (its window changed): it
    /// follows at once if that client set the current size in the
    /// `latest` mode; otherwise it waits for its next input.
    pub fn moved(&mut self, who: &str, label: &str, size: Size) -> Outcome {
        if self.mode != SizeMode::Latest || self.driver.as_deref() != Some(who) {
            return Outcome::default();
        }
        self.set(size, who, label, "typed")
    }

    /// An explicit resize (the web UI's "Fit", rcctl's `--resize`): taken
    /// in every mode; in the `fixed` mode it is the size kept.
    pub fn resized(&mut self, who: &str, label: &str, size: Size) -> Outcome {
        self.set(size, who, label, "resized")
    }

    /// `label` chose the mode: `fixed` keeps the current size (and says
    /// who fixed it); `latest` lets the next input decide.
    pub fn set_mode(&mut self, mode: SizeMode, label: &str) -> Outcome {
        if mode == self.mode {
            return Outcome::default();
        }
        self.mode = mode;
        if mode == SizeMode::Fixed {
            self.by = label.to_string();
            self.why = "fixed";
        } else {
            // Whoever types next takes it, this client included.
            self.driver = None;
        }
        Outcome {
            resize: None,
            noted: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHONE: Size = Size { rows: 40, cols: 52 };
    const DESK: Size = Size {
        rows: 35,
        cols: 150,
    };

    #[test]
    fn the_latest_typist_sets_the_size() {
        let mut s = Sizing::new(Size::DEFAULT);
        assert_eq!(s.note().by, "the default");
        let o = s.typed("p", "phone", Some(PHONE));
        assert_eq!(o.resize, Some(PHONE));
        assert!(o.noted);
        assert_eq!(
            s.typed("p", "phone", Some(PHONE)),
            Outcome::default(),
            "each further key of the same client changes nothing"
        );
        assert_eq!(s.typed("d", "desktop", Some(DESK)).resize, Some(DESK));
        let n = s.note();
        assert_eq!(
            (n.rows, n.cols, n.by.as_str(), n.why.as_str()),
            (35, 150, "desktop", "typed")
        );
        assert_eq!(
            s.typed("p", "phone", Some(PHONE)).resize,
            Some(PHONE),
            "and back"
        );
    }

    #[test]
    fn a_client_without_a_size_does_not_drive() {
        let mut s = Sizing::new(PHONE);
        assert_eq!(s.typed("old", "old device", None), Outcome::default());
        assert_eq!(s.size(), PHONE);
    }

    #[test]
    fn the_same_size_from_another_client_only_renames_the_driver() {
        let mut s = Sizing::new(PHONE);
        let o = s.typed("p2", "other phone", Some(PHONE));
        assert_eq!(
            o,
            Outcome {
                resize: None,
                noted: true
            }
        );
        assert_eq!(s.note().by, "other phone");
    }

    #[test]
    fn only_the_driver_follows_its_window_at_once() {
        let mut s = Sizing::new(Size::DEFAULT);
        s.typed("p", "phone", Some(PHONE));
        let rotated = Size {
            rows: 20,
            cols: 100,
        };
        assert_eq!(
            s.moved("d", "desktop", DESK),
            Outcome::default(),
            "not the driver: waits for its input"
        );
        assert_eq!(s.moved("p", "phone", rotated).resize, Some(rotated));
    }

    #[test]
    fn fixed_keeps_the_size_until_an_explicit_resize() {
        let mut s = Sizing::new(Size::DEFAULT);
        s.typed("p", "phone", Some(PHONE));
        let o = s.set_mode(SizeMode::Fixed, "desktop");
        assert_eq!(
            o,
            Outcome {
                resize: None,
                noted: true
            }
        );
        let n = s.note();
        assert_eq!(
            (n.mode, n.by.as_str(), n.why.as_str()),
            (SizeMode::Fixed, "desktop", "fixed")
        );
        assert_eq!(s.typed("d", "desktop", Some(DESK)), Outcome::default());
        assert_eq!(s.moved("p", "phone", DESK), Outcome::default());
        assert_eq!(s.size(), PHONE);
        assert_eq!(
            s.resized("d", "desktop", DESK).resize,
            Some(DESK),
            "an explicit resize still goes"
        );
        assert_eq!(s.mode(), SizeMode::Fixed);
        assert_eq!(
            s.typed("p", "phone", Some(PHONE)),
            Outcome::default(),
            "and stays"
        );
        s.set_mode(SizeMode::Latest, "phone");
        assert!(
            s.typed("d", "desktop", Some(DESK)).noted,
            "the next typist takes it"
        );
        assert_eq!(s.typed("p", "phone", Some(PHONE)).resize, Some(PHONE));
    }
}
