//! The crate's one error type.

use thiserror::Error;

/// Everything that can go wrong in the tile engine. Each variant says what
/// the valid input would have been, so a caller can show it to a user as is.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TileError {
    /// Zoom outside `0..=MAX_ZOOM`.
    #[error("zoom {z} is out of range: valid zooms are 0..={max}")]
    ZoomOutOfRange {
        /// The zoom that was asked for.
        z: u8,
        /// The largest supported zoom.
        max: u8,
    },
    /// Column or row outside `0..2^z`.
    #[error("tile {z}/{x}/{y} is out of range: at zoom {z} x and y must be in 0..={max}")]
    TileOutOfRange {
        /// Zoom.
        z: u8,
        /// Column.
        x: u32,
        /// Row (XYZ, southward).
        y: u32,
        /// Largest valid column/row at this zoom (`2^z - 1`).
        max: u32,
    },
    /// Aggregation cell size that does not divide the tile evenly.
    #[error("cell size {cell_px} px is invalid: it must be a power of two in 1..=256 (pixels of a 256-px tile)")]
    InvalidCellSize {
        /// The cell size that was asked for.
        cell_px: u32,
    },
    /// A tile's bin counts of the wrong length for their cell size.
    #[error("{got} bin counts given where the cell size makes {expected}")]
    BinCounts {
        /// Bins a tile has at that cell size.
        expected: usize,
        /// Counts given.
        got: usize,
    },
    /// Extent or buffer that the integer pipeline cannot represent.
    #[error("extent {extent} with buffer {buffer} is invalid: extent must be in 256..=65536 and buffer <= extent")]
    InvalidExtent {
        /// Tile extent in tile units.
        extent: u32,
        /// Buffer in tile units.
        buffer: u32,
    },
}
