"""Short news texts written for the tests, one table per category of the labeling guide
(../shared/corpus/labeled/README.md), in English and Japanese. Written here, not copied from the
corpus; the organisations are mostly invented, so that a rule must read the guide's pattern
(who does what with whom) rather than know a name.

Each entry: (category, lang, title, text). TRUE categories are relevant, FALSE ones are not.
"""

from __future__ import annotations

TRUE = ("agreement", "partnership", "joint_research", "investment", "export_controls", "framework")
FALSE = ("one_side", "non_tech", "in_passing", "customer")

TEXTS: list[tuple[str, str, str, str]] = [
    # --- agreement: governments of both sides agree on technology -----------------------------
    ("agreement", "en", "US and Japan agree to deepen cooperation on fusion energy",
     "The United States and Japan signed a memorandum on Tuesday to cooperate on fusion energy "
     "research and the development of pilot plants. U.S. Energy Secretary officials and Japan's "
     "science ministry said the two countries will share test facilities and coordinate "
     "regulation of fusion devices. The agreement also covers joint training of engineers."),
    ("agreement", "en", "Washington and Tokyo launch dialogue on 6G and subsea cables",
     "Officials from Washington and Tokyo held the first meeting of a new bilateral dialogue on "
     "next-generation networks, agreeing to coordinate work on 6G research and on the security "
     "of undersea cables. The U.S. State Department said Japan is a key partner in building "
     "trusted telecom networks. Both sides agreed to meet again next spring."),
    ("agreement", "ja", "日米、量子技術で協力覚書に署名",
     "日米両政府は量子技術の研究開発で協力する覚書に署名した。量子コンピューターや量子通信の"
     "共同研究を進め、研究者の交流も拡大する。文部科学省によると、米エネルギー省と連携して"
     "試験設備を相互に利用する。"),
    ("agreement", "ja", "日米首脳、AIと半導体で連携強化を確認",
     "日米首脳会談で、両首脳は人工知能（AI）や先端半導体の分野で協力を強化することで一致した。"
     "共同声明では、信頼できるAIの開発や半導体サプライチェーンの強靱化に向けた協議を"
     "進めると明記した。"),
    # --- partnership: organisations of both sides work together -------------------------------
    ("partnership", "en", "Ohio chip designer Veltrix partners with Tokyo-based Kaneda Semiconductor",
     "Veltrix, a U.S. chip designer based in Columbus, Ohio, said it has formed a partnership "
     "with Tokyo-based Kaneda Semiconductor to co-develop power chips for data centres. Under "
     "the agreement, Kaneda will license its silicon carbide process to Veltrix and the two "
     "companies will set up a joint engineering team. Veltrix said the deal gives it access "
     "to Japanese manufacturing know-how."),
    ("partnership", "en", "American startup and Japanese conglomerate form satellite joint venture",
     "Orbitwise, an American startup that builds small satellites, and a Japanese conglomerate "
     "announced a joint venture to produce Earth-observation satellites in Japan. The Japanese "
     "firm will hold 51 percent of the venture. Orbitwise will transfer its satellite bus "
     "design, and the partners plan their first launch in 2027."),
    ("partnership", "en", "NuGrid and Japanese utility team up on small modular reactors",
     "U.S. reactor developer NuGrid said it had teamed up with a Japanese utility to study "
     "deploying small modular reactors in western Japan. The companies signed a cooperation "
     "agreement covering licensing work and the supply of reactor components by Japanese "
     "manufacturers."),
    ("partnership", "ja", "米新興と国内電機大手、AI半導体を共同開発",
     "米新興のアクシオン・ラボと国内電機大手は、データセンター向けAI半導体を共同開発すると"
     "発表した。両社は技術提携の契約を結び、設計を米国で、製造を日本国内で担う。"),
    ("partnership", "ja", "米宇宙新興と国内宇宙企業、月面輸送で業務提携",
     "米宇宙新興のルナリンクと国内の宇宙企業は、月面への物資輸送サービスで業務提携すると"
     "発表した。ルナリンクの着陸機に国内企業の探査車を載せ、2028年の打ち上げを目指す。"),
    # --- joint research: universities, institutes, funded programmes --------------------------
    ("joint_research", "en", "US and Japanese universities launch joint quantum research program",
     "A group of U.S. universities and Japanese universities launched a joint research program "
     "on quantum sensing, funded by science agencies of both countries. The program will support "
     "collaborative research projects, exchanges of PhD students and shared access to "
     "laboratories in Illinois and Tsukuba."),
    ("joint_research", "en", "American and Japanese labs to study AI safety together",
     "A national laboratory in the United States and a Japanese research institute agreed to "
     "collaborate on research into evaluating the safety of artificial intelligence models. "
     "Researchers from both institutions will develop joint testing methods, the partners said."),
    ("joint_research", "ja", "東北大学と米大学、次世代電池で共同研究",
     "東北大学は米国の大学と次世代電池の共同研究を始めると発表した。全固体電池の材料開発で"
     "連携し、研究者の相互派遣も行う。米国立科学財団が研究費の一部を助成する。"),
    ("joint_research", "ja", "国内の研究機関、米国立研究所と核融合材料の共同研究",
     "国内の研究機関は米エネルギー省傘下の国立研究所と、核融合炉に使う材料の共同研究を始める"
     "と発表した。研究者を相互に派遣し、試験設備を共同で利用する。"),
    # --- investment: one side's company into the other's country ------------------------------
    ("investment", "en", "Cloudmere to invest $4 billion in Japanese data centres",
     "Cloudmere, a U.S. cloud computing company, said it will invest $4 billion over five years "
     "to build data centres in Japan, including a new campus in Osaka. The investment will "
     "expand AI computing capacity for Japanese customers. Japan's industry ministry welcomed "
     "the plan and said it would consider subsidies for the facility."),
    ("investment", "en", "Japanese battery maker to build $2.5 billion plant in North Carolina",
     "A Japanese battery maker plans to build a $2.5 billion plant in North Carolina to produce "
     "lithium-ion batteries for electric vehicles, the company said. The facility, its first in "
     "the United States, will supply American automakers from 2028. North Carolina's governor "
     "said the investment would create 1,800 jobs."),
    ("investment", "en", "US memory maker opens research lab in Hiroshima",
     "A U.S. memory chip maker opened a research lab in Hiroshima, investing 50 billion yen in "
     "advanced DRAM development. Japan's government will cover part of the cost through its "
     "chip subsidy programme, the company said."),
    ("investment", "ja", "米クラウド大手、国内に3000億円投資 データセンター新設",
     "米クラウド大手のクラウドミアは、日本国内に今後5年で3000億円を投資し、大阪と千葉に"
     "データセンターを新設すると発表した。生成AI向けの計算基盤を拡充する。経済産業省は"
     "補助金での支援を検討する。"),
    ("investment", "ja", "国内素材大手、米アリゾナに半導体材料の新工場",
     "国内素材大手は米アリゾナ州に半導体材料の新工場を建設すると発表した。投資額は約500億円。"
     "米国内の半導体工場向けに供給する。"),
    # --- coordinated export controls ----------------------------------------------------------
    ("export_controls", "en", "Japan widens chip-equipment export controls",
     "Japan's trade ministry said it will require licences for exports of 30 more types of "
     "chipmaking equipment, in step with restrictions Washington imposed last year. The "
     "export controls cover advanced lithography and etching tools. Japanese officials said "
     "the rules target no single country."),
    ("export_controls", "en", "Tokyo adds entities to export control list",
     "Japan added 15 foreign companies to its list of end users subject to export controls on "
     "semiconductor technology, a move aligned with the U.S. Entity List. Exports to the "
     "companies will need a licence from the Ministry of Economy, Trade and Industry."),
    ("export_controls", "ja", "政府、半導体製造装置の輸出規制を拡大",
     "経済産業省は先端半導体の製造装置について輸出規制の対象を拡大すると発表した。米国の"
     "規制強化に歩調を合わせるもので、外為法に基づき輸出許可を義務付ける。"),
    ("export_controls", "ja", "日本、先端半導体の輸出管理を強化　米国と足並みをそろえ",
     "政府は先端半導体の製造装置や関連技術について輸出管理を強化する。外為法の省令を改正し、"
     "輸出許可の対象を広げる。米国の輸出規制と足並みをそろえる狙いがある。"),
    # --- framework: the pair with a third country, real roles ---------------------------------
    ("framework", "en", "US, Japan and Australia to fund undersea cable for Pacific island nation",
     "The United States, Japan and Australia will jointly finance an undersea cable linking a "
     "Pacific island nation to regional networks, the three countries said. Japan's "
     "development bank and the U.S. development finance agency will each provide loans, while "
     "Australia will cover the landing station."),
    ("framework", "en", "Trilateral partnership on secure 5G networks launched",
     "The U.S., Japan and the Philippines launched a trilateral partnership to build secure 5G "
     "networks, with Japanese and American companies supplying Open RAN equipment. The three "
     "governments agreed to coordinate funding and training."),
    ("framework", "ja", "日米豪、太平洋島しょ国の海底ケーブル整備で協力",
     "日米豪の3カ国は、太平洋島しょ国の海底ケーブル整備に共同で資金を拠出すると発表した。"
     "通信網の安全性を高める狙いで、国際協力銀行が融資する。"),
    ("framework", "ja", "日米比、フィリピンの半導体人材育成で協力",
     "日米比の3カ国は、フィリピンの半導体人材の育成で協力する枠組みを立ち上げた。日本と米国の"
     "大学が講座を提供し、3カ国の企業が実習の場を設ける。"),
    # --- FALSE: one country acts alone --------------------------------------------------------
    ("one_side", "en", "US adds chipmakers to trade blacklist",
     "The U.S. Commerce Department added 12 chipmakers to its Entity List, restricting their "
     "access to American technology. The Bureau of Industry and Security said the companies "
     "supported military programmes."),
    ("one_side", "en", "Japan approves new subsidies for domestic chip plant",
     "Japan's government approved 200 billion yen in subsidies for a domestic chipmaker's new "
     "plant in Hokkaido. The industry ministry said the funding will strengthen the country's "
     "semiconductor supply chain."),
    ("one_side", "en", "White House unveils national AI action plan",
     "The White House released a national plan on artificial intelligence, promising to speed "
     "up construction of data centers and to ease rules for AI developers in the United "
     "States. The plan also directs agencies to promote American AI exports."),
    ("one_side", "ja", "政府、国産量子コンピューターの開発に500億円",
     "政府は国産量子コンピューターの開発に500億円を投じる方針を固めた。理化学研究所などが"
     "開発を進め、2030年までの実用化を目指す。"),
    ("one_side", "ja", "米政府、中国向けAI半導体の輸出規制を強化",
     "米商務省は中国向けのAI半導体の輸出規制を強化すると発表した。先端半導体の輸出に許可を"
     "義務付ける。中国の軍事転用を防ぐ狙い。"),
    # --- FALSE: US–Japan relations on non-tech matters ----------------------------------------
    ("non_tech", "en", "US and Japan agree on tariff cut for cars",
     "The United States and Japan agreed to cut tariffs on Japanese cars to 15 percent, ending "
     "months of talks. The deal also covers rice and beef imports, officials said."),
    ("non_tech", "en", "Japan, US defence ministers meet on troop posture",
     "Japan's defence minister and the U.S. Defense Secretary met in Tokyo to discuss the "
     "posture of U.S. troops in Okinawa and joint military exercises. They agreed to "
     "strengthen the alliance."),
    ("non_tech", "ja", "日米、為替で緊密に意思疎通",
     "日米の財務相は会談し、為替相場の急変動について緊密に意思疎通することで一致した。円安が"
     "進むなか、両国の協力を確認した。"),
    ("non_tech", "ja", "日米、自動車関税の引き下げで合意",
     "日米両政府は自動車関税を15%に引き下げることで合意した。農産物の輸入拡大も盛り込んだ。"),
    # --- FALSE: Japan or the US in passing ----------------------------------------------------
    ("in_passing", "en", "EU and India sign semiconductor cooperation pact",
     "The European Union and India signed a pact on semiconductor supply chains, agreeing to "
     "share information on chip shortages and to support joint research. Similar agreements "
     "exist between the United States, Japan, South Korea and Taiwan, officials noted. The "
     "EU said the pact would attract investment into chip fabs in India."),
    ("in_passing", "en", "Korea launches national quantum computing centre",
     "South Korea opened a national quantum computing centre in Daejeon, with a 50-qubit "
     "machine built by Korean researchers. The country aims to catch up with leaders such as "
     "the U.S., China and Japan in quantum technology, the science ministry said. The centre "
     "will offer cloud access to Korean universities and companies."),
    ("in_passing", "en", "Quad leaders launch critical minerals initiative",
     "Leaders of the Quad, Australia, India, Japan and the United States, launched an initiative "
     "to map critical mineral supplies and share information on processing capacity. India will "
     "host the first meeting of experts next year, and Australia offered funding for a study of "
     "rare earth processing. The leaders also discussed maritime security."),
    ("in_passing", "ja", "欧州、AI規制法を全面施行",
     "欧州連合（EU）はAI規制法を全面施行した。高リスクのAIシステムに厳しい義務を課す。"
     "米国や日本、中国の企業も域内で事業を行う場合は対象となる。"),
    ("in_passing", "ja", "韓国と英国、6G研究で協力",
     "韓国と英国は次世代通信規格「6G」の共同研究で協力する覚書に署名した。両国の大学や研究機関が"
     "参加し、基地局技術の開発を進める。通信分野では米国や日本も研究開発を急いでいる。"),
    # --- FALSE: a plain customer/supplier or product item -------------------------------------
    ("customer", "en", "Japanese camera maker launches new mirrorless model in the US",
     "A Japanese camera maker launched its new mirrorless camera in the United States, priced "
     "at $2,499. The camera uses a new image sensor chip and goes on sale in American stores "
     "next month."),
    ("customer", "en", "Japanese telecom operator buys routers from US supplier",
     "A Japanese telecom operator placed an order for core routers from a U.S. network "
     "equipment supplier to upgrade its 5G network. The supplier said shipments start in "
     "the spring."),
    ("customer", "ja", "国内家電大手、米国で新型テレビを発売",
     "国内家電大手は米国で有機ELテレビの新製品を発売した。価格は2499ドルで、米国の家電量販店で"
     "販売する。映像処理に新しい半導体を搭載した。"),
    ("customer", "ja", "国内通信大手、米社製のサーバーを購入",
     "国内通信大手は米社製のAIサーバーを購入し、データセンターに導入すると発表した。"
     "価格は明らかにしていない。"),
]
