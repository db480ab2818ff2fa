"""Short relevant news texts written for the tests, one table per topic of the labeling guide,
in English and Japanese: each must get its topic, also where the topic is not the text's main
subject (the guide: an item gets every topic it substantively covers). Some name a topic only in
passing and must not get it. Written here, not copied from the corpus.

Each entry: (topic, lang, title, text, topics it must not get).
"""

from __future__ import annotations

TEXTS: list[tuple[str, str, str, str, tuple[str, ...]]] = [
    # --- research: joint R&D, institutes, talent, even when the text is about chips or quantum
    ("research", "en", "US and Japanese universities join forces on chip design",
     "Four American universities and three Japanese universities formed a partnership to "
     "train chip designers and run joint research on low-power processors. The program, "
     "funded by both governments, will exchange graduate students and faculty between "
     "campuses in Arizona and Kyushu. Japanese chipmakers and U.S. semiconductor firms will "
     "offer internships.", ()),
    ("research", "en", "Japan's national lab and US institute to co-develop quantum sensors",
     "A Japanese national research institute and a U.S. Department of Energy laboratory signed "
     "an agreement to co-develop quantum sensors for medical imaging. Scientists from the two "
     "institutes will work in each other's labs, and the partners will share patents from the "
     "joint development work.", ()),
    ("research", "en", "Rapid chip partnership expands to joint development of 1.4nm process",
     "A U.S. technology company and a Japanese foundry expanded their partnership to the joint "
     "development of a 1.4nm chip process. Engineers from the American firm will be stationed "
     "at the Japanese company's Hokkaido fab, and the two will co-develop new transistor "
     "designs before mass production.", ()),
    ("research", "ja", "日米の大学、AI研究で連携協定",
     "東京の私立大学と米国の州立大学は、人工知能（AI）の共同研究と研究者の交流に関する連携協定を"
     "結んだ。大学院生の相互派遣や共同でのAIモデル開発を進める。", ()),
    ("research", "ja", "国内研究機関と米国立研究所、半導体材料を共同開発",
     "国内の研究機関は米国の国立研究所と半導体材料の共同開発で合意した。研究者を相互に派遣し、"
     "次世代の半導体向け材料の実用化を目指す。", ()),
    # --- supply_chain: economic security, industrial investment, subsidies, reshoring ----------
    ("supply_chain", "en", "US chipmaker to build Japanese fab with state support",
     "A U.S. memory chipmaker will build a new fab in Hiroshima with up to 150 billion yen in "
     "Japanese government support. The plant will start mass production of advanced memory "
     "chips in 2028, the company said.", ()),
    ("supply_chain", "en", "US and Japan agree to secure supplies of chips and batteries",
     "The United States and Japan agreed to coordinate on economic security, including "
     "stockpiles of chips and battery materials and early warning of supply disruptions. "
     "Officials said the two allies want to reduce dependence on China for critical goods "
     "and will align their subsidy programmes for semiconductors.", ()),
    ("supply_chain", "en", "Japanese materials maker opens Texas plant to supply US fabs",
     "A Japanese chemical materials maker opened a $300 million plant in Texas that will supply "
     "photoresists and high-purity gases to American chip fabs. The company said the factory "
     "brings production closer to its U.S. customers.", ()),
    ("supply_chain", "ja", "米半導体大手、広島に新工場 政府が補助",
     "米半導体大手は広島県に新工場を建設すると発表した。投資額は約5000億円で、政府は最大"
     "1500億円を補助する。先端メモリーを量産する。", ()),
    ("supply_chain", "ja", "日米、重要物資の供給網強化で連携",
     "日米両政府は半導体や蓄電池など重要物資のサプライチェーン強化で連携することで合意した。"
     "経済安全保障の観点から、供給途絶に備えた情報共有を進める。", ()),
    # --- standards: AI governance frameworks, interoperability, certification ------------------
    ("standards", "en", "US and Japan align AI safety evaluation methods",
     "The U.S. and Japanese AI safety institutes agreed to develop common methods for testing "
     "and evaluating advanced AI models and to make their AI governance frameworks "
     "interoperable. They will publish a joint crosswalk between their risk management "
     "guidelines next year.", ()),
    ("standards", "en", "US, Japan to cooperate on Open RAN interoperability testing",
     "Washington and Tokyo will cooperate on Open RAN interoperability testing, setting up "
     "joint certification labs so that equipment tested in one country is accepted in the "
     "other. The two governments also agreed to coordinate positions on 6G standards at the "
     "ITU.", ()),
    ("standards", "ja", "日米、AIの評価手法で協力 相互運用性を確保",
     "日米両国のAIセーフティ・インスティテュートは、AIの安全性の評価手法を共同で開発し、"
     "両国のガバナンスの枠組みの相互運用性を確保することで合意した。国際標準化でも連携する。",
     ()),
    # --- export_controls: coordinated controls, also when the headline speaks of chips --------
    ("export_controls", "en", "Japan tightens rules on chip tool sales to China",
     "Japan will require government approval for sales of advanced chipmaking tools to "
     "China, the trade ministry said, a step that brings its rules closer to those of the "
     "United States. Makers of lithography and deposition equipment will need licences "
     "for exports from July.", ()),
    ("export_controls", "en", "US and Japan coordinate on investment screening of chip deals",
     "The United States and Japan agreed to share information on foreign investment screening "
     "in the semiconductor sector, coordinating reviews of acquisitions by Chinese buyers. "
     "Officials said the move complements their export controls on advanced chips.", ()),
    ("export_controls", "ja", "経産省、先端半導体装置の輸出管理を強化 米国と連携",
     "経済産業省は先端半導体の製造装置について輸出管理を強化すると発表した。米国と連携した"
     "措置で、対象品目の輸出には許可が必要になる。", ()),
    ("export_controls", "ja", "日米、技術流出防止で連携 輸出規制の運用を調整",
     "日米両政府は先端技術の流出を防ぐため、輸出規制の運用を調整することで一致した。"
     "半導体やAI分野の技術を対象に、規制リストの情報を共有する。", ()),
    # --- quantum ------------------------------------------------------------------------------
    ("quantum", "en", "US startup to install quantum computer at Japanese research centre",
     "A U.S. quantum computing startup will install a 100-qubit machine at a Japanese research "
     "centre under a partnership with a Japanese telecom company. Researchers will use the "
     "system to study error correction and quantum algorithms for chemistry.", ()),
    ("quantum", "en", "US and Japan fund joint quantum networking testbed",
     "The United States and Japan will jointly fund a quantum networking testbed linking "
     "laboratories in Chicago and Tokyo, officials said. The project will test quantum key "
     "distribution over long distances.", ()),
    ("quantum", "ja", "日米企業、量子コンピューターで提携",
     "国内電機大手は米量子コンピューター新興と提携し、量子ビットの制御技術を共同開発する。"
     "量子計算の実用化を急ぐ。", ()),
    ("quantum", "ja", "日米、量子技術の研究協力で合意",
     "日米両政府は量子技術の研究協力で合意した。量子コンピューターや量子センサーの共同研究を"
     "進める。", ()),
    # --- the other topics, two languages each -------------------------------------------------
    ("ai", "en", "US AI developer and Japanese bank partner on generative AI",
     "A U.S. artificial intelligence developer and a Japanese bank formed a partnership to "
     "build generative AI tools in Japanese. The bank will deploy the large language models "
     "across its branches.", ()),
    ("ai", "ja", "米AI新興と国内通信大手、生成AIで提携",
     "米AI新興と国内通信大手は、日本語の生成AIの開発で提携した。大規模言語モデルを共同で"
     "開発する。", ()),
    ("semiconductors", "en", "US and Japanese firms to co-develop advanced chip packaging",
     "A U.S. chip company and a Japanese materials group will co-develop advanced packaging "
     "for AI chips, combining chiplets from the American firm with Japanese substrates.", ()),
    ("semiconductors", "ja", "日米企業、先端半導体の後工程で協業",
     "米半導体大手と国内素材メーカーは、先端半導体の後工程で協業すると発表した。チップレット"
     "技術を共同で開発する。", ()),
    ("telecom", "en", "US and Japan to build undersea cable to Pacific islands",
     "The United States and Japan will finance an undersea cable connecting Pacific island "
     "nations, improving internet access and the security of telecom networks.", ()),
    ("telecom", "ja", "日米、6G研究で協力",
     "日米両政府は次世代通信規格「6G」の研究開発で協力することで合意した。通信網の安全性を"
     "高める。", ()),
    ("energy", "en", "US reactor developer and Japanese utility partner on SMRs",
     "A U.S. small modular reactor developer and a Japanese utility agreed to study building "
     "SMRs in Japan, sharing licensing work and nuclear fuel supply plans.", ()),
    ("energy", "ja", "日米企業、核融合で提携",
     "米核融合新興と国内重工大手は核融合発電の実用化に向けて提携した。核融合炉の部品を"
     "共同開発する。", ()),
    ("biotech", "en", "US drugmaker and Japanese university team up on gene therapy",
     "A U.S. drugmaker and a Japanese university teamed up on gene therapy research, with the "
     "pharmaceutical company funding clinical trials in Japan.", ()),
    ("biotech", "ja", "米製薬大手と国内大学、創薬で連携",
     "米製薬大手は国内の大学と創薬の共同研究で連携すると発表した。再生医療の医薬品開発を"
     "進める。", ()),
    ("critical_minerals", "en", "US and Japan sign critical minerals deal",
     "The United States and Japan signed an agreement on critical minerals, pledging to "
     "cooperate on rare earth processing and lithium supplies for batteries.", ()),
    ("critical_minerals", "ja", "日米、重要鉱物で協定",
     "日米両政府は重要鉱物の協定に署名した。レアアースやリチウムの確保で協力する。", ()),
    ("space", "en", "NASA and JAXA agree on lunar rover mission",
     "NASA and JAXA agreed that a Japanese pressurized rover will carry astronauts on the "
     "Moon in a later Artemis mission, and that a Japanese astronaut will land on the lunar "
     "surface.", ()),
    ("space", "ja", "日米、月面探査で協力",
     "日米両政府は月面探査で協力する取り決めに署名した。日本人宇宙飛行士が月面に着陸する。",
     ()),
    ("digital_trade", "en", "US and Japan agree on cross-border data flows",
     "The United States and Japan agreed to promote cross-border data flows and oppose data "
     "localization requirements, in a digital trade dialogue held in Tokyo.", ()),
    ("digital_trade", "ja", "日米、データ流通で協力",
     "日米両政府はデジタル貿易に関する対話で、越境データの自由な流通を促進することで一致した。",
     ()),
    # --- passing mentions that must not become topics -----------------------------------------
    ("semiconductors", "en", "US and Japanese chip firms partner on memory",
     "A U.S. chipmaker and a Japanese chipmaker formed a partnership to develop new memory "
     "chips for data centres. The companies said the chips will follow an industry standard "
     "interface.", ("standards",)),
    ("quantum", "en", "US and Japan agree on quantum computing cooperation",
     "The United States and Japan agreed to cooperate on quantum computing, sharing access to "
     "quantum computers at national laboratories. The agreement was signed at a ceremony "
     "attended by a university president.", ("export_controls",)),
]
