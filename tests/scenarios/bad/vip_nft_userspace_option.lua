-- expect: vip_nft_userspace_option\.lua:5: vip: in_process is the userspace VIP's; kind = 'nftables' has none
local s = scenario{ name = "x", duration = 1 }
local zone = s:zone("../../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = zone }
s:vip{ kind = "nftables", backends = { r1 }, in_process = false }
