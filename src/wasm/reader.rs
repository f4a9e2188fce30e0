//! Reading a model file that JavaScript holds, without copying it whole into the wasm memory.

/// A file held by JavaScript read in pieces (each copied into the wasm memory as it is asked
/// for), buffered: the header's many small reads are not a call each.
pub struct JsReader {
    bytes: js_sys::Uint8Array,
    pos: u64,
}

impl JsReader {
    pub fn new(bytes: js_sys::Uint8Array) -> std::io::BufReader<Self> {
        std::io::BufReader::with_capacity(1 << 16, Self { bytes, pos: 0 })
    }
}

impl std::io::Read for JsReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let len = self.bytes.length() as u64;
        let n = (len.saturating_sub(self.pos)).min(buf.len() as u64);
        let end = self.pos + n;
        self.bytes
            .subarray(self.pos as u32, end as u32)
            .copy_to(&mut buf[..n as usize]);
        self.pos = end;
        Ok(n as usize)
    }
}

impl std::io::Seek for JsReader {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        let len = self.bytes.length() as i64;
        let at = match to {
            std::io::SeekFrom::Start(p) => p as i64,
            std::io::SeekFrom::End(d) => len + d,
            std::io::SeekFrom::Current(d) => self.pos as i64 + d,
        };
        if at < 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            ));
        }
        self.pos = at as u64;
        Ok(self.pos)
    }
}
