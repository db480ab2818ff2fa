"""Reports written for the tests: one event told by three outlets in their own words, and another
event on the same topic on the same day."""

FUSION_DEAL = [
    ("Hitachi and Oak Ridge lab to co-develop fusion blanket materials",
     "Hitachi Ltd and the US Department of Energy's Oak Ridge National Laboratory signed an "
     "agreement on Monday to jointly develop lithium breeding blanket materials for fusion power "
     "plants, committing $48 million over five years. Engineers from Hitachi's Ibaraki research "
     "centre will work beside Oak Ridge scientists in Tennessee on ceramic pebbles that breed "
     "tritium fuel inside a reactor wall. The US-Japan project is the first of its kind between "
     "a national laboratory and a Japanese manufacturer, officials said. Japan's science ministry "
     "welcomed the partnership, which builds on the bilateral fusion energy dialogue launched by "
     "both governments. Hitachi said prototype blanket modules could be tested at Oak Ridge's "
     "irradiation facilities by 2028."),
    ("US lab, Hitachi sign $48 million fusion research pact",
     "The Oak Ridge National Laboratory and Japan's Hitachi will spend $48 million on fusion "
     "blanket research under a five-year deal signed in Tennessee, the laboratory said on "
     "Tuesday. The blanket, a layer of lithium ceramic around the plasma, must breed tritium and "
     "carry heat away, one of the hardest engineering problems left for commercial fusion. "
     "Under the agreement Hitachi engineers from Ibaraki join Oak Ridge teams, and the two will "
     "share irradiation test data. The Energy Department called it a model for US-Japan "
     "cooperation on clean energy technology."),
    ("Japan's Hitachi joins Oak Ridge on fusion breeding blankets",
     "TOKYO -- Hitachi has agreed with Oak Ridge National Laboratory to co-develop breeding "
     "blanket materials for fusion reactors, a $48 million effort over five years, the Japanese "
     "company said. The tie-up brings Hitachi's ceramics know-how from its Ibaraki site to the "
     "US Department of Energy laboratory, where lithium pebbles will be irradiated to test how "
     "much tritium they breed. Analysts said the agreement shows how Japanese manufacturers are "
     "positioning for the fusion supply chain as the United States and Japan deepen energy "
     "technology cooperation."),
]
OTHER_FUSION_DEAL = (
    "Kyoto Fusioneering and General Atomics team up on fusion fuel cycle",
    "Kyoto Fusioneering, a Japanese start-up, and San Diego-based General Atomics said on Monday "
    "they will design a fuel cycle test loop together, with $12 million from both companies and "
    "support from Japan's Cabinet Office. The loop will circulate deuterium and recover unburnt "
    "fuel from a reactor's exhaust, and is to be built in San Diego by 2027. General Atomics "
    "operates the DIII-D tokamak for the US Department of Energy. The US-Japan partnership "
    "follows the bilateral fusion energy dialogue in which both governments pledged to speed up "
    "private fusion development.")

JA_DEAL = [
    ("日米、量子コンピューター共同研究で覚書　理研とIBMが拠点整備",
     "日米両政府は１２日、量子コンピューターの共同研究に関する覚書に署名した。理化学研究所と米IBMが"
     "神戸市に共同研究拠点を整備し、５年間で総額４００億円を投じる。量子ビットの誤り訂正技術の"
     "開発を進め、２０３０年までに実用的な計算機の実現を目指す。文部科学省は人材交流も拡大する方針だ。"),
    ("理研と米IBM、神戸に量子拠点　日米覚書に基づき400億円投資",
     "理化学研究所と米IBMは、日米両政府が結んだ量子コンピューター分野の覚書に基づき、神戸市に共同"
     "研究拠点を設けると発表した。投資額は５年間で４００億円。誤り訂正の研究者を相互に派遣し、"
     "実用機の開発を急ぐ。"),
]
JA_OTHER = (
    "日米、レアアース精錬で協力　供給網の強化へ作業部会",
    "日米両政府は１２日、レアアースなど重要鉱物の精錬技術で協力する作業部会を設置した。経済産業省と"
    "米エネルギー省が中心となり、共同備蓄や精錬工場への投資を協議する。中国への依存を減らす狙いがある。")
# the first event as a Japanese outlet tells it, and another Japanese report (JA_OTHER) beside it
JA_FUSION_DEAL = (
    "日立と米オークリッジ国立研究所、核融合炉のブランケット材料を共同開発",
    "日立製作所は米エネルギー省のオークリッジ国立研究所と、核融合発電所向けのリチウム増殖"
    "ブランケット材料を共同開発する契約を結んだと発表した。５年間で４８００万ドルを投じる。"
    "茨城県の研究拠点の技術者がテネシー州の研究所に加わり、炉の壁の内側でトリチウム燃料を"
    "生み出すセラミックの小球を開発する。国立研究所と日本のメーカーによる日米協力は初めて。")


def template_deal(us: str, ja: str, field: str, city: str, amount: str, chief: str) -> tuple:
    """One of a wire's press releases, all worded from one template: different deals."""
    return (f"{us} and Japan's {ja} to build {field} line in {city}",
            f"{us} said on Monday it will invest {amount} with Japan's {ja} in {field} in {city}, "
            f"a U.S.-Japan technology partnership backed by both governments. The project was "
            f"announced by the U.S. Commerce Department and Japan's Ministry of Economy, Trade and "
            f"Industry, which will fund joint research on {field}. {ja} chief executive {chief} "
            f"said the cooperation between the United States and Japan would create jobs. "
            f"Analysts said the agreement strengthens the alliance's supply chains for {field}.")



_FIELDS = ["gallium nitride power chips", "photonic quantum processors", "6G terahertz antennas",
           "sodium-ion batteries", "lunar rover navigation", "AI chip packaging",
           "fusion reactor magnets", "undersea fiber cables", "rare earth magnet recycling",
           "hydrogen electrolyzers", "satellite laser links", "mRNA bioreactors"]
_CITIES = ["Sendai", "Kumamoto", "Fukuoka", "Nagoya", "Austin", "Phoenix", "Albany", "Boise"]
_US = ["Voltline", "Brightwave", "Corvus Labs", "Northgate", "Quarrystone", "Ardent Systems",
       "Bluefield", "Cobalt Ridge", "Delmar Tech", "Eastlake", "Foxhall", "Granite Peak",
       "Harborview", "Ironwood", "Juniper Grid", "Kestrel", "Larkspur", "Meridian Arc",
       "Nimbus Works", "Orchard Semi", "Pinecrest", "Quillon", "Redwater", "Silverpine"]
_JA = ["Kaminari Denko", "Hoshino Seiki", "Tsubasa Optics", "Midori Cell", "Akatsuki Kogyo",
       "Sakura Dengyo", "Fujimi Kasei", "Hikari Tsushin", "Kawase Kiki", "Minato Zairyo",
       "Nishikaze", "Ookawa Seimitsu", "Reimei Kogaku", "Shinonome", "Takumi Denshi",
       "Umibe Kagaku", "Wakaba Energy", "Yamabuki", "Asagiri", "Benibana", "Chidori",
       "Daichi Metal", "Enishi", "Fuyou Denki"]
_GIVEN = ["Kenji", "Mariko", "Hiroshi", "Yuki", "Daisuke", "Aiko", "Takeshi", "Naomi"]
_FAMILY = ["Aoyama", "Endo", "Kudo", "Sato", "Mori", "Ito", "Kato", "Ono", "Abe", "Goto", "Ueda",
           "Imai"]
# 24 different deals on one day, in one wire's words: each field twice, each city three times
TEMPLATE_DEALS = [template_deal(_US[i], _JA[i], _FIELDS[i % 12], _CITIES[i % 8],
                                f"${1 + i % 9}.{i % 10} billion",
                                f"{_GIVEN[i % 8]} {_FAMILY[i % 12]}") for i in range(24)]
