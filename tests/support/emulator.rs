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
/// as one written with a space does) and its look.
pub fn shown(screen: &vt100::Screen, width: u16, height: u16) -> String {
    let mut out = String::new();
    for row in 0..height {
        for col in 0..width {
            let cell = screen.cell(row, col).expect("inside the screen");
            let text = if cell.contents().is_empty() { " " } else { cell.contents() };
            out.push_str(&format!(
                "{text}{:?}{:?}{}{}{}|",
                cell.fgcolor(),
                cell.bgcolor(),
                cell.bold() as u8,
                cell.inverse() as u8,
                cell.is_wide_continuation() as u8
            ));
        }
        out.push('\n');
    }
    out
}
