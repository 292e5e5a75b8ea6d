//! Conversion records of performance agreements (written by the records work).
