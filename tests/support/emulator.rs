//! A terminal in memory for the drawing tests: the bytes a backend writes, and what a
//! terminal (vt100) shows after them, cell by cell.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

/// Bytes written, readable by the test while the backend owns the writer.
#[derive(Clone, Default)]
pub struct Written(Rc<RefCell<Vec<u8>>>);

impl Written {
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut self.0.borrow_mut())
    }
}

impl Write for Written {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the screen shows, cell by cell: the character (a cell never written shows a blank,
/// as one written with a space does) and its look — for a blank only what a blank shows (its
/// background, reverse video, underline), not the foreground, weight or slant it was
/// written with.
pub fn shown(screen: &vt100::Screen, width: u16, height: u16) -> String {
    let mut out = String::new();
    for row in 0..height {
        for col in 0..width {
            let cell = screen.cell(row, col).expect("inside the screen");
            let blank = cell.contents().is_empty() || cell.contents() == " ";
            let text = if blank { " " } else { cell.contents() };
            let seen_only_in_glyphs = |shown: String| if blank { String::new() } else { shown };
            out.push_str(&format!(
                "{text}{}{:?}{}{}{}|",
                seen_only_in_glyphs(format!(
                    "{:?}{}{}{}",
                    cell.fgcolor(),
                    cell.bold() as u8,
                    cell.dim() as u8,
                    cell.italic() as u8
                )),
                cell.bgcolor(),
                cell.inverse() as u8,
                cell.underline() as u8,
                cell.is_wide_continuation() as u8
            ));
        }
        out.push('\n');
    }
    out
}
