package journal

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"os"
	"strconv"
	"strings"
)

// The on-disk format. All integers are little-endian; checksums are CRC-32C (Castagnoli).
//
// A segment file begins with a 16-byte header: the magic "aperjnl1" and the Seq of its first
// record (also in its name). Records follow, back to back:
//
//	length uint32  // of data
//	seq    uint64
//	dcrc   uint32  // CRC-32C of data
//	hcrc   uint32  // CRC-32C of the 16 bytes above
//	data   [length]byte
//
// The header checksum makes the length trustworthy on its own, so a damaged record can be told
// from a torn one (see scanSegment).
//
// A record with Seq 0 is a commit marker, not an entry: its data is 24 bytes, the offset in the
// segment of the first record it closes, and the Seqs of the first and last records it closes.
// The records written between two fsyncs of a segment (one Append, or several sharing an fsync
// by group commit) form a batch, and the batch's marker is written right after it, just before
// the fsync that makes it durable. So a marker is only ever written once every batch before it
// is durable: damage followed by a whole batch with its marker is in data that was fsynced, and
// damage anywhere after the last marker is in data that may never have reached the disk.
// Segments written before markers existed have none: they read as one batch still open.
//
// A snapshot file is a 32-byte header, the magic "apersnp1", seq uint64, length uint64, dcrc
// uint32 (of data), hcrc uint32 (of the 28 bytes before it), then data.
const (
	segMagic      = "aperjnl1"
	segHeaderSize = 16
	recHeaderSize = 20
	snapMagic     = "apersnp1"
	snapHeaderLen = 32

	markerDataSize = 24
	markerSize     = recHeaderSize + markerDataSize

	// maxRecordData bounds a record's length whatever the options: a header claiming more is
	// damaged.
	maxRecordData = 1 << 30
)

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	le         = binary.LittleEndian
)

func segHeader(base uint64) []byte {
	h := make([]byte, segHeaderSize)
	copy(h, segMagic)
	le.PutUint64(h[8:], base)
	return h
}

// appendRecord appends the encoding of one record to b.
func appendRecord(b []byte, seq uint64, data []byte) []byte {
	n := len(b)
	b = append(b, make([]byte, recHeaderSize)...) // the header is filled in place: no escaping array
	h := b[n:]
	le.PutUint32(h[0:], uint32(len(data)))
	le.PutUint64(h[4:], seq)
	le.PutUint32(h[12:], crc32.Checksum(data, castagnoli))
	le.PutUint32(h[16:], crc32.Checksum(h[:16], castagnoli))
	return append(b, data...)
}

// marker is a commit marker's content: the batch it closes starts at offset start of the
// segment and holds the records with Seqs first to last.
type marker struct {
	start       uint64
	first, last uint64
}

// appendMarker appends the encoding of a commit marker to b, a record with Seq 0 built in
// place (no array escapes).
func appendMarker(b []byte, m marker) []byte {
	n := len(b)
	b = append(b, make([]byte, markerSize)...)
	h, d := b[n:n+recHeaderSize], b[n+recHeaderSize:]
	le.PutUint64(d[0:], m.start)
	le.PutUint64(d[8:], m.first)
	le.PutUint64(d[16:], m.last)
	le.PutUint32(h[0:], markerDataSize)
	le.PutUint32(h[12:], crc32.Checksum(d, castagnoli))
	le.PutUint32(h[16:], crc32.Checksum(h[:16], castagnoli))
	return b
}

// parseMarker decodes a commit marker's data, reporting whether it has the right size and closes
// at least one record.
func parseMarker(d []byte) (marker, bool) {
	if len(d) != markerDataSize {
		return marker{}, false
	}
	m := marker{start: le.Uint64(d[0:]), first: le.Uint64(d[8:]), last: le.Uint64(d[16:])}
	return m, m.first != 0 && m.first <= m.last
}

type recHeader struct {
	length uint32
	seq    uint64
	dcrc   uint32
}

// parseRecHeader decodes a record header, reporting whether its checksum holds.
func parseRecHeader(h []byte) (recHeader, bool) {
	if le.Uint32(h[16:]) != crc32.Checksum(h[:16], castagnoli) {
		return recHeader{}, false
	}
	return recHeader{length: le.Uint32(h[0:]), seq: le.Uint64(h[4:]), dcrc: le.Uint32(h[12:])}, true
}

// scanResult is what scanSegment found in a segment file.
type scanResult struct {
	last uint64 // the Seq of the last good record; base-1 if none
	good int64  // the length of the good prefix, header included
	// open is the offset of the first record after the last commit marker of the good prefix
	// (good if none follows it), and marked the Seq of the last record that marker closes
	// (base-1 if there is none): the records from open to good form a batch still to be closed.
	open   int64
	marked uint64
	// torn is set when the good prefix is not the whole file but what follows is a torn tail:
	// cut it.
	torn bool
	// corrupt is set when the damage cannot be a torn tail; reason says why, at offset good.
	corrupt bool
	reason  string
}

// scanSegment checks a segment file's bytes, which should hold records from Seq base on.
//
// The rules: the records are read one after the other while their checksums hold, their Seqs
// follow on and each commit marker closes the records since the one before. At the first that
// does not:
//   - a file shorter than its header is torn (the crash came while it was being made);
//   - a whole header that is not ours is corrupt;
//   - a record whose header checksum holds but whose data runs past the end of the file is a
//     partial last record: torn;
//   - a record whose header and data checksums hold but whose Seq is wrong, or whose length is
//     beyond any we write, or a marker whose checksums hold but that does not close the records
//     before it, is corrupt: a hole left by a power loss holds zeros or garbage, not a record
//     whose checksums hold;
//   - a record (or marker) whose data checksum fails, or whose header checksum fails, is torn
//     unless a whole batch with its commit marker follows, and corrupt if one does (searched
//     from the end of the damaged record when its header holds, so that entries whose data
//     happen to contain a record are not mistaken for one, else from the next byte). Damage
//     anywhere in the batches written since the last fsync that completed is a torn tail,
//     however much of them the write-back saved after it; damage in a batch that was fsynced is
//     never skipped silently.
func scanSegment(data []byte, base uint64) scanResult {
	res := scanResult{last: base - 1, marked: base - 1, open: segHeaderSize}
	if len(data) < segHeaderSize {
		res.torn = true
		return res
	}
	if !bytes.Equal(data[:8], []byte(segMagic)) {
		res.corrupt, res.reason = true, "not a journal segment (bad magic)"
		return res
	}
	if got := le.Uint64(data[8:]); got != base {
		res.corrupt, res.reason = true, fmt.Sprintf("segment header says first Seq %d, its name %d", got, base)
		return res
	}
	off := int64(segHeaderSize)
	size := int64(len(data))
	for off < size {
		want := res.last + 1
		if size-off < recHeaderSize {
			res.good, res.torn = off, true
			return res
		}
		h, ok := parseRecHeader(data[off : off+recHeaderSize])
		if !ok {
			res.good = off
			res.decideAfter(data, off+1, want, "record header checksum mismatch")
			return res
		}
		if h.length > maxRecordData {
			res.good, res.corrupt, res.reason = off, true, fmt.Sprintf("record length %d beyond the format's limit", h.length)
			return res
		}
		end := off + recHeaderSize + int64(h.length)
		if end > size {
			res.good, res.torn = off, true
			return res
		}
		if crc32.Checksum(data[off+recHeaderSize:end], castagnoli) != h.dcrc {
			res.good = off
			res.decideAfter(data, end, want, "record data checksum mismatch")
			return res
		}
		if h.seq == 0 {
			m, ok := parseMarker(data[off+recHeaderSize : end])
			if !ok || m.start != uint64(res.open) || m.first != res.marked+1 || m.last != res.last {
				res.good, res.corrupt = off, true
				res.reason = fmt.Sprintf("commit marker does not close the records before it (Seqs %d to %d from offset %d)", res.marked+1, res.last, res.open)
				return res
			}
			res.marked, res.open, off = res.last, end, end
			continue
		}
		if h.seq != want {
			res.good, res.corrupt, res.reason = off, true, fmt.Sprintf("record has Seq %d, want %d", h.seq, want)
			return res
		}
		res.last, off = h.seq, end
	}
	res.good = off
	return res
}

// decideAfter sets torn or corrupt for damage at res.good, where a record with Seq want was
// due: corrupt if a whole batch of records with Seqs from want on, and its commit marker, start
// at or after from.
func (res *scanResult) decideAfter(data []byte, from int64, want uint64, reason string) {
	size := int64(len(data))
	for p := from; p+markerSize <= size; p++ {
		hb := data[p : p+recHeaderSize]
		// Cheap filters before the checksums: a marker has Seq 0 and its own length.
		if le.Uint64(hb[4:]) != 0 || le.Uint32(hb[0:]) != markerDataSize {
			continue
		}
		h, ok := parseRecHeader(hb)
		if !ok || crc32.Checksum(data[p+recHeaderSize:p+markerSize], castagnoli) != h.dcrc {
			continue
		}
		m, ok := parseMarker(data[p+recHeaderSize : p+markerSize])
		if !ok || m.start < uint64(from) || m.start >= uint64(p) || m.first < want {
			continue
		}
		if !wholeBatch(data[m.start:p], m.first, m.last) {
			continue
		}
		res.corrupt = true
		res.reason = fmt.Sprintf("%s, and a whole later batch (Seqs %d to %d) follows at offset %d", reason, m.first, m.last, m.start)
		return
	}
	res.torn = true
}

// wholeBatch reports whether b is exactly the records with Seqs first to last (first ≥ 1), each
// whole.
func wholeBatch(b []byte, first, last uint64) bool {
	n := last - first + 1
	var i uint64
	for ; len(b) > 0; i++ {
		if i == n || len(b) < recHeaderSize {
			return false
		}
		h, ok := parseRecHeader(b[:recHeaderSize])
		if !ok || h.seq != first+i || uint64(h.length) > uint64(len(b)-recHeaderSize) {
			return false
		}
		end := recHeaderSize + int(h.length)
		if crc32.Checksum(b[recHeaderSize:end], castagnoli) != h.dcrc {
			return false
		}
		b = b[end:]
	}
	return i == n
}

// encodeSnapshot returns a snapshot file's bytes.
func encodeSnapshot(s Snapshot) []byte {
	b := make([]byte, snapHeaderLen, snapHeaderLen+len(s.Data))
	copy(b, snapMagic)
	le.PutUint64(b[8:], s.Seq)
	le.PutUint64(b[16:], uint64(len(s.Data)))
	le.PutUint32(b[24:], crc32.Checksum(s.Data, castagnoli))
	le.PutUint32(b[28:], crc32.Checksum(b[:28], castagnoli))
	return append(b, s.Data...)
}

// parseSnapshotHeader decodes a snapshot file's header: its Seq, data length and data checksum.
func parseSnapshotHeader(h []byte) (seq, length uint64, dcrc uint32, reason string) {
	if len(h) < snapHeaderLen {
		return 0, 0, 0, "snapshot file shorter than its header"
	}
	if !bytes.Equal(h[:8], []byte(snapMagic)) {
		return 0, 0, 0, "not a snapshot (bad magic)"
	}
	if le.Uint32(h[28:]) != crc32.Checksum(h[:28], castagnoli) {
		return 0, 0, 0, "snapshot header checksum mismatch"
	}
	return le.Uint64(h[8:]), le.Uint64(h[16:]), le.Uint32(h[24:]), ""
}

// roomDirName turns an untrusted room name into a safe directory name: "r-" and the name with
// every byte other than a-z, 0-9, '-' and '_' written as %xx (lower-case hex), so that no two
// names collide even on a case-insensitive file system and no name can climb out of the rooms
// directory; a name whose escaped form is long is "h-" and the hex SHA-256 of the name instead
// (the room's directory holds its name in a file, for Rooms).
func roomDirName(name string) string {
	var b strings.Builder
	b.WriteString("r-")
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02x", c)
		}
		if b.Len() > maxDirName {
			return "h-" + hashName(name)
		}
	}
	return b.String()
}

// maxDirName keeps directory names well below the usual 255-byte limit.
const maxDirName = 130

// segName is the file name of the segment whose first record has Seq base.
func segName(base uint64) string { return fmt.Sprintf("%020d.log", base) }

// parseSegName returns the base of a segment file name, or false.
func parseSegName(name string) (uint64, bool) {
	if len(name) != 24 || !strings.HasSuffix(name, ".log") {
		return 0, false
	}
	for _, c := range name[:20] {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	base, err := strconv.ParseUint(name[:20], 10, 64)
	return base, err == nil && base > 0
}

func crc32Checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// hashName is the hex SHA-256 of a room name, for long names.
func hashName(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

// readSnapshotFile reads and checks a snapshot file.
func readSnapshotFile(room, path string) (Snapshot, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Snapshot{}, err
	}
	seq, length, dcrc, reason := parseSnapshotHeader(b)
	switch {
	case reason != "":
	case uint64(len(b)-snapHeaderLen) != length:
		reason = fmt.Sprintf("snapshot file has %d bytes, its header says %d", len(b), snapHeaderLen+length)
	case crc32Checksum(b[snapHeaderLen:]) != dcrc:
		reason = "snapshot data checksum mismatch"
	}
	if reason != "" {
		return Snapshot{}, &CorruptError{Room: room, File: path, Reason: reason}
	}
	return Snapshot{Seq: seq, Data: b[snapHeaderLen:]}, nil
}
