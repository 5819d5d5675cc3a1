package list

import "testing"

func TestScratchLengths(t *testing.T) {
	run := func(name string, next func(prev ZenoIndex) ZenoIndex, start ZenoIndex) {
		z := start
		maxL := 0
		for i := 0; i < 100000; i++ {
			n := next(z)
			maxL = max(maxL, n.Len())
			z = n
		}
		t.Logf("%s: max %d last %s", name, maxL, z)
	}
	run("append", func(p ZenoIndex) ZenoIndex { return p.After() }, middle)
	run("prepend", func(p ZenoIndex) ZenoIndex { return p.Before() }, middle)
	hi := MustParseZenoIndex("81")
	run("forward", func(p ZenoIndex) ZenoIndex { z, err := Between(p, hi); if err != nil || !(p.Less(z) && z.Less(hi)) { t.Fatal(p, z) }; return z }, middle)
	lo := MustParseZenoIndex("80")
	run("backward", func(p ZenoIndex) ZenoIndex { z, err := Between(lo, p); if err != nil || !(lo.Less(z) && z.Less(p)) { t.Fatal(p, z) }; return z }, MustParseZenoIndex("81"))
	lo2 := MustParseZenoIndex("7f3a05")
	run("backward2", func(p ZenoIndex) ZenoIndex { z, err := Between(lo2, p); if err != nil || !(lo2.Less(z) && z.Less(p)) { t.Fatal(p, z) }; return z }, MustParseZenoIndex("81"))
	hi2 := MustParseZenoIndex("80000001")
	run("forward2", func(p ZenoIndex) ZenoIndex { z, err := Between(p, hi2); if err != nil || !(p.Less(z) && z.Less(hi2)) { t.Fatal(p, z) }; return z }, middle)
}
