-- expect: bad_enum\.lua:4: .*rcode: .rcode. must be one of SERVFAIL, REFUSED, NXDOMAIN, FORMERR, NOTIMP \(got .SERVFIAL.; did you mean .SERVFAIL.\?\)
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
s:at(0.5, r1, "rcode", { rcode = "SERVFIAL" })
