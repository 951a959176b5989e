-- expect: vip_nft_policy\.lua:5: vip: policy 'random' picks a backend per query \(or per packet\); kind = 'nftables' picks one per flow, which conntrack pins: use 'flow' \(numgen inc, round robin\), 'flow_random' \(numgen random\) or 'flow_hash' \(jhash of the source address and port\)
local s = scenario{ name = "x", duration = 1 }
local zone = s:zone("../../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = zone }
s:vip{ kind = "nftables", backends = { r1 }, policy = "random" }
