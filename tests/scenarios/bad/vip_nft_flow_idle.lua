-- expect: vip_nft_flow_idle\.lua:6: vip: flow_idle = 20, but another nftables VIP of this run has 30: conntrack's UDP timeout is one for the network namespace
local s = scenario{ name = "x", duration = 1 }
local zone = s:zone("../../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = zone }
s:vip{ name = "a", kind = "nftables", backends = { r1 } }
s:vip{ name = "b", kind = "nftables", backends = { r1 }, flow_idle = 20 }
