<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="ko_KR" sourcelanguage="en">
  <context>
    <name>AppPreferences</name>
    <message>
      <location filename="../preferences.py" line="39" />
      <source>This address cannot work: it must start with http:// or https://.</source>
      <translation>이 주소는 쓸 수 없습니다. http:// 또는 https://로 시작해야 합니다.</translation>
    </message>
  </context>
  <context>
    <name>AttachmentTray</name>
    <message>
      <location filename="../attachments.py" line="65" />
      <source>Attach image…</source>
      <translation>이미지 첨부…</translation>
    </message>
    <message>
      <location filename="../attachments.py" line="68" />
      <source>Remove images</source>
      <translation>이미지 빼기</translation>
    </message>
    <message>
      <location filename="../attachments.py" line="80" />
      <source>Attach images</source>
      <translation>이미지 첨부</translation>
    </message>
    <message>
      <location filename="../attachments.py" line="81" />
      <source>Images (*.png *.jpg *.jpeg *.webp)</source>
      <translation>이미지 (*.png *.jpg *.jpeg *.webp)</translation>
    </message>
  </context>
  <context>
    <name>ChatActions</name>
    <message>
      <location filename="../chat_actions.py" line="134" />
      <source>A document is still being read: wait for it, or cancel it.</source>
      <translation>아직 문서를 읽는 중입니다. 기다리거나 취소하세요.</translation>
    </message>
    <message>
      <location filename="../chat_actions.py" line="178" />
      <source>No model is loaded: set up the demo model, or open the model manager.</source>
      <translation>불러온 모델이 없습니다. 데모 모델을 준비하거나 모델 관리자를 여세요.</translation>
    </message>
    <message>
      <location filename="../chat_actions.py" line="214" />
      <source>Stopping…</source>
      <translation>멈추는 중…</translation>
    </message>
    <message>
      <location filename="../chat_actions.py" line="224" />
      <source>Writing…</source>
      <translation>답변 작성 중…</translation>
    </message>
    <message>
      <location filename="../chat_actions.py" line="254" />
      <source>Use the other engine?</source>
      <translation>다른 엔진을 쓸까요?</translation>
    </message>
  </context>
  <context>
    <name>CloudConsentDialog</name>
    <message>
      <location filename="../cloud_dialog.py" line="22" />
      <source>Send messages to the cloud?</source>
      <translation>메시지를 클라우드로 보낼까요?</translation>
    </message>
    <message>
      <location filename="../cloud_dialog.py" line="25" />
      <source>&lt;p&gt;With the cloud fallback on, &lt;b&gt;the conversation you send&lt;/b&gt; (its system prompt, your messages and the previous answers, without reasoning) and the generation settings are sent over HTTPS to &lt;b&gt;{host}&lt;/b&gt; and answered by the model &lt;b&gt;{model}&lt;/b&gt;.&lt;/p&gt;&lt;p&gt;Your API key is kept in the OS keychain. Nothing else leaves this computer, and nothing is sent while the switch is off. Every cloud reply is marked in the chat.&lt;/p&gt;</source>
      <translation>&lt;p&gt;클라우드 대체를 켜면 &lt;b&gt;보내는 대화&lt;/b&gt;(시스템 프롬프트, 내 메시지, 추론을 뺀 이전 답변)와 생성 설정이 HTTPS로 &lt;b&gt;{host}&lt;/b&gt;에 전송되고, 모델 &lt;b&gt;{model}&lt;/b&gt;이(가) 답합니다.&lt;/p&gt;&lt;p&gt;API 키는 OS 키체인에 보관됩니다. 그 밖에는 아무것도 이 컴퓨터를 떠나지 않으며, 스위치가 꺼져 있는 동안에는 아무것도 전송되지 않습니다. 클라우드 답변은 대화에 모두 표시됩니다.&lt;/p&gt;</translation>
    </message>
    <message>
      <location filename="../cloud_dialog.py" line="35" />
      <source>I understand and agree to send messages to this service</source>
      <translation>이 서비스로 메시지를 보내는 것을 이해하고 동의합니다</translation>
    </message>
    <message>
      <location filename="../cloud_dialog.py" line="40" />
      <source>Turn on</source>
      <translation>켜기</translation>
    </message>
  </context>
  <context>
    <name>CloudFilesDialog</name>
    <message>
      <location filename="../cloud_dialog.py" line="55" />
      <source>Send the attached files to the cloud?</source>
      <translation>첨부 파일을 클라우드로 보낼까요?</translation>
    </message>
    <message>
      <location filename="../cloud_dialog.py" line="59" />
      <source>&lt;p&gt;This message would go to &lt;b&gt;{host}&lt;/b&gt; (the model &lt;b&gt;{model}&lt;/b&gt;) with the conversation's attached files: their text and images would leave this computer.&lt;/p&gt;</source>
      <translation>&lt;p&gt;이 메시지는 대화에 첨부된 파일과 함께 &lt;b&gt;{host}&lt;/b&gt;(모델 &lt;b&gt;{model}&lt;/b&gt;)로 전송됩니다. 파일의 텍스트와 이미지가 이 컴퓨터를 떠납니다.&lt;/p&gt;</translation>
    </message>
    <message>
      <location filename="../cloud_dialog.py" line="63" />
      <source>&lt;p&gt;You are asked at every send with files. Keep local answers with the local model and sends nothing.&lt;/p&gt;</source>
      <translation>&lt;p&gt;파일이 있는 메시지를 보낼 때마다 묻습니다. ‘이 컴퓨터에 두기’를 고르면 로컬 모델이 답하고 아무것도 보내지 않습니다.&lt;/p&gt;</translation>
    </message>
    <message>
      <location filename="../cloud_dialog.py" line="71" />
      <source>Send to cloud</source>
      <translation>클라우드로 보내기</translation>
    </message>
    <message>
      <location filename="../cloud_dialog.py" line="72" />
      <source>Keep local</source>
      <translation>이 컴퓨터에 두기</translation>
    </message>
    <message>
      <location filename="../cloud_dialog.py" line="85" />
      <source>image {0} ({1})</source>
      <translation>이미지 {0} ({1})</translation>
    </message>
  </context>
  <context>
    <name>Composer</name>
    <message>
      <location filename="../composer.py" line="121" />
      <source>Type a message (Ctrl+Enter sends)</source>
      <translation>메시지를 입력하세요 (Ctrl+Enter로 보내기)</translation>
    </message>
    <message>
      <location filename="../composer.py" line="86" />
      <source>Send</source>
      <translation>보내기</translation>
    </message>
    <message>
      <location filename="../composer.py" line="65" />
      <source>Editing a message: Send asks again on a new branch (the old one is kept). Escape cancels.</source>
      <translation>메시지를 고치는 중입니다. 보내기를 누르면 새 갈래에서 다시 묻습니다(이전 갈래는 남습니다). Esc를 누르면 취소합니다.</translation>
    </message>
    <message>
      <location filename="../composer.py" line="68" />
      <source>Cancel</source>
      <translation>취소</translation>
    </message>
    <message>
      <location filename="../composer.py" line="89" />
      <source>Stop</source>
      <translation>멈추기</translation>
    </message>
    <message>
      <location filename="../composer.py" line="91" />
      <source>Regenerate</source>
      <translation>다시 생성</translation>
    </message>
    <message>
      <location filename="../composer.py" line="93" />
      <source>Ask again; the earlier replies are kept (‹ › on the reply)</source>
      <translation>다시 묻습니다. 이전 답변은 남습니다(답변의 ‹ ›).</translation>
    </message>
    <message>
      <location filename="../composer.py" line="94" />
      <source>Edit last message</source>
      <translation>마지막 메시지 고치기</translation>
    </message>
    <message>
      <location filename="../composer.py" line="120" />
      <source>Type a message (Enter sends, Shift+Enter: new line)</source>
      <translation>메시지를 입력하세요 (Enter: 보내기, Shift+Enter: 줄바꿈)</translation>
    </message>
  </context>
  <context>
    <name>ConversationSidebar</name>
    <message>
      <location filename="../sidebar.py" line="46" />
      <location filename="../sidebar.py" line="134" />
      <source>New chat</source>
      <translation>새 대화</translation>
    </message>
    <message>
      <location filename="../sidebar.py" line="49" />
      <source>Search chats</source>
      <translation>대화 검색</translation>
    </message>
    <message>
      <location filename="../sidebar.py" line="61" />
      <source>Rename</source>
      <translation>이름 바꾸기</translation>
    </message>
    <message>
      <location filename="../sidebar.py" line="62" />
      <source>Delete</source>
      <translation>삭제</translation>
    </message>
    <message>
      <location filename="../sidebar.py" line="63" />
      <source>Export</source>
      <translation>내보내기</translation>
    </message>
    <message>
      <location filename="../sidebar.py" line="88" />
      <source>Rename chat</source>
      <translation>대화 이름 바꾸기</translation>
    </message>
    <message>
      <location filename="../sidebar.py" line="88" />
      <source>New name:</source>
      <translation>새 이름:</translation>
    </message>
    <message>
      <location filename="../sidebar.py" line="96" />
      <source>Delete chat</source>
      <translation>대화 삭제</translation>
    </message>
    <message>
      <location filename="../sidebar.py" line="97" />
      <source>Delete this chat and all its messages?</source>
      <translation>이 대화와 모든 메시지를 삭제할까요?</translation>
    </message>
    <message>
      <location filename="../sidebar.py" line="107" />
      <source>Export chat</source>
      <translation>대화 내보내기</translation>
    </message>
    <message>
      <location filename="../sidebar.py" line="117" />
      <source>Exported to {0}</source>
      <translation>{0}(으)로 내보냈습니다</translation>
    </message>
    <message>
      <location filename="../sidebar.py" line="144" />
      <source>No chat contains “{0}”.</source>
      <translation>“{0}”이(가) 들어 있는 대화가 없습니다.</translation>
    </message>
    <message>
      <location filename="../sidebar.py" line="154" />
      <source>Today {0}</source>
      <translation>오늘 {0}</translation>
    </message>
  </context>
  <context>
    <name>DocumentTray</name>
    <message>
      <location filename="../documents.py" line="59" />
      <source>Attach document…</source>
      <translation>문서 첨부…</translation>
    </message>
    <message>
      <location filename="../documents.py" line="67" />
      <source>Cancel</source>
      <translation>취소</translation>
    </message>
    <message>
      <location filename="../documents.py" line="75" />
      <source>Attach documents</source>
      <translation>문서 첨부</translation>
    </message>
    <message>
      <location filename="../documents.py" line="76" />
      <source>Documents ({0})</source>
      <translation>문서 ({0})</translation>
    </message>
    <message>
      <location filename="../documents.py" line="137" />
      <source>Reading {0}…</source>
      <translation>{0} 읽는 중…</translation>
    </message>
    <message>
      <location filename="../documents.py" line="171" />
      <source>Remove {0}</source>
      <translation>{0} 빼기</translation>
    </message>
  </context>
  <context>
    <name>DraftOfferBox</name>
    <message>
      <location filename="../draft_offer_box.py" line="28" />
      <source>Draft model (faster replies, the same text)</source>
      <translation>보조 모델(더 빠른 답변, 같은 텍스트)</translation>
    </message>
    <message>
      <location filename="../draft_offer_box.py" line="39" />
      <source>Use it</source>
      <translation>사용하기</translation>
    </message>
    <message>
      <location filename="../draft_offer_box.py" line="62" />
      <source>{0} can draft for {1}: it proposes tokens that {1} checks in one step.</source>
      <translation>{0}이(가) {1}의 초안을 만들 수 있습니다. 제안한 토큰을 {1}이(가) 한 번에 검증합니다.</translation>
    </message>
    <message>
      <location filename="../draft_offer_box.py" line="64" />
      <source>{0} can draft for {1}: it proposes tokens that {1} checks in one step. Use it downloads it first ({2}).</source>
      <translation>{0}이(가) {1}의 초안을 만들 수 있습니다. 제안한 토큰을 {1}이(가) 한 번에 검증합니다. ‘사용하기’를 누르면 먼저 내려받습니다({2}).</translation>
    </message>
  </context>
  <context>
    <name>FamilyCardWidget</name>
    <message>
      <location filename="../catalogue_cards.py" line="40" />
      <source>reads images</source>
      <translation>이미지 읽기</translation>
    </message>
    <message>
      <location filename="../catalogue_cards.py" line="42" />
      <source>reasoning</source>
      <translation>추론</translation>
    </message>
    <message>
      <location filename="../catalogue_cards.py" line="44" />
      <source>mixture of experts</source>
      <translation>전문가 혼합</translation>
    </message>
    <message>
      <location filename="../catalogue_cards.py" line="47" />
      <source>Sizes: {0} · needs at least {1} of memory</source>
      <translation>크기: {0} · 메모리 최소 {1} 필요</translation>
    </message>
    <message>
      <location filename="../catalogue_cards.py" line="54" />
      <source>File</source>
      <translation>파일</translation>
    </message>
    <message>
      <location filename="../catalogue_cards.py" line="54" />
      <source>Size</source>
      <translation>크기</translation>
    </message>
    <message>
      <location filename="../catalogue_cards.py" line="54" />
      <source>This computer</source>
      <translation>이 컴퓨터</translation>
    </message>
    <message>
      <location filename="../catalogue_cards.py" line="84" />
      <source>{0} + {1} vision projector</source>
      <translation>{0} + 비전 프로젝터 {1}</translation>
    </message>
    <message>
      <location filename="../catalogue_cards.py" line="88" />
      <source>unknown</source>
      <translation>알 수 없음</translation>
    </message>
    <message>
      <location filename="../catalogue_cards.py" line="90" />
      <source>fits</source>
      <translation>실행 가능</translation>
    </message>
    <message>
      <location filename="../catalogue_cards.py" line="92" />
      <source>too large (needs about {0})</source>
      <translation>너무 큼 (약 {0} 필요)</translation>
    </message>
    <message>
      <location filename="../catalogue_cards.py" line="97" />
      <source>Downloads {0} with its vision projector {1}</source>
      <translation>{0}을(를) 비전 프로젝터 {1}과(와) 함께 내려받습니다</translation>
    </message>
  </context>
  <context>
    <name>FamilyTexts</name>
    <message>
      <location filename="../family_texts.py" line="9" />
      <source>LG's largest model, a mixture of experts: the strongest answers, for a server with very much memory.</source>
      <translation>LG의 가장 큰 전문가 혼합(MoE) 모델입니다. 가장 뛰어난 답변을 내며, 메모리가 아주 많은 서버용입니다.</translation>
    </message>
    <message>
      <location filename="../family_texts.py" line="11" />
      <source>Reads images and documents as well as text, and reasons step by step: LG's newest, for a well-equipped computer.</source>
      <translation>글뿐 아니라 이미지와 문서도 읽고 단계별로 추론합니다. LG의 최신 모델로, 사양이 좋은 컴퓨터용입니다.</translation>
    </message>
    <message>
      <location filename="../family_texts.py" line="13" />
      <source>Everyday chat in Korean and English with a reasoning switch: 1.2B runs on any laptop, 32B needs a workstation.</source>
      <translation>추론 스위치가 있는 한국어·영어 일상 대화 모델입니다. 1.2B는 어느 노트북에서나, 32B는 워크스테이션에서 돌아갑니다.</translation>
    </message>
    <message>
      <location filename="../family_texts.py" line="15" />
      <source>Thinks step by step before answering: mathematics, science and programming questions.</source>
      <translation>답하기 전에 단계별로 생각합니다. 수학, 과학, 프로그래밍 질문에 알맞습니다.</translation>
    </message>
    <message>
      <location filename="../family_texts.py" line="17" />
      <source>Reliable chat and writing in Korean and English, in three sizes.</source>
      <translation>한국어와 영어로 믿을 만한 대화와 글쓰기를 합니다. 세 가지 크기가 있습니다.</translation>
    </message>
  </context>
  <context>
    <name>FirstRun</name>
    <message>
      <location filename="../first_run.py" line="56" />
      <source>Cancelled; nothing was kept.</source>
      <translation>취소했습니다. 아무것도 남기지 않았습니다.</translation>
    </message>
  </context>
  <context>
    <name>LoadPanel</name>
    <message>
      <location filename="../load_panel.py" line="59" />
      <source>These apply when the model is loaded: Reload applies a change.</source>
      <translation>모델을 불러올 때 적용됩니다. 바꾼 설정은 다시 불러오기로 적용하세요.</translation>
    </message>
    <message>
      <location filename="../load_panel.py" line="64" />
      <location filename="../load_panel.py" line="89" />
      <source>automatic</source>
      <translation>자동</translation>
    </message>
    <message>
      <location filename="../load_panel.py" line="84" />
      <source>all</source>
      <translation>전부</translation>
    </message>
    <message>
      <location filename="../load_panel.py" line="104" />
      <source>Reload the model with these settings</source>
      <translation>이 설정으로 모델 다시 불러오기</translation>
    </message>
    <message>
      <location filename="../load_panel.py" line="146" />
      <source>Load a model to see the memory its context takes.</source>
      <translation>모델을 불러오면 컨텍스트가 차지할 메모리가 보입니다.</translation>
    </message>
    <message>
      <location filename="../load_panel.py" line="149" />
      <source>{0} tokens of context</source>
      <translation>컨텍스트 {0} 토큰</translation>
    </message>
    <message>
      <location filename="../load_panel.py" line="150" />
      <source>{0} tokens of context take {1} ({2})</source>
      <translation>컨텍스트 {0} 토큰은 {1}를 차지합니다({2})</translation>
    </message>
    <message>
      <location filename="../load_panel.py" line="157" />
      <source>Kept now: {0} conversations, {1} of {2}</source>
      <translation>지금 보관 중: 대화 {0}개, {2} 중 {1}</translation>
    </message>
  </context>
  <context>
    <name>MainWindow</name>
    <message>
      <location filename="../main_window.py" line="93" />
      <source>Main</source>
      <translation>기본</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="96" />
      <source>New chat</source>
      <translation>새 대화</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="97" />
      <source>Models…</source>
      <translation>모델…</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="98" />
      <source>Settings</source>
      <translation>설정</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="215" />
      <source>Loading {0}…</source>
      <translation>{0} 불러오는 중…</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="222" />
      <source>Model ready.</source>
      <translation>모델이 준비되었습니다.</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="237" />
      <source>Models</source>
      <translation>모델</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="300" />
      <source>{0} will draft for {1} from its next load (Reload applies it now).</source>
      <translation>{0}이(가) 다음에 불러올 때부터 {1}의 초안을 만듭니다(다시 불러오면 바로 적용됩니다).</translation>
    </message>
  </context>
  <context>
    <name>MessageWidget</name>
    <message>
      <location filename="../chat_view.py" line="107" />
      <source>Copy</source>
      <translation>복사</translation>
    </message>
    <message>
      <location filename="../chat_view.py" line="113" />
      <source>Previous version</source>
      <translation>이전 버전</translation>
    </message>
    <message>
      <location filename="../chat_view.py" line="120" />
      <source>Next version</source>
      <translation>다음 버전</translation>
    </message>
    <message>
      <location filename="../chat_view.py" line="122" />
      <source>Edit</source>
      <translation>고치기</translation>
    </message>
    <message>
      <location filename="../chat_view.py" line="125" />
      <source>Edit this message: the chat branches, and the old version is kept</source>
      <translation>이 메시지 고치기: 대화가 새 갈래로 나뉘고, 이전 내용은 남습니다</translation>
    </message>
    <message>
      <location filename="../chat_view.py" line="159" />
      <source>Reasoning</source>
      <translation>추론 과정</translation>
    </message>
    <message>
      <location filename="../chat_view.py" line="177" />
      <source>You</source>
      <translation>나</translation>
    </message>
    <message>
      <location filename="../chat_view.py" line="179" />
      <source>☁ Cloud reply</source>
      <translation>☁ 클라우드 답변</translation>
    </message>
    <message>
      <location filename="../chat_view.py" line="187" />
      <source>Seed {0}: send with this seed to draw the same reply</source>
      <translation>시드 {0}: 이 시드로 보내면 같은 답변이 나옵니다</translation>
    </message>
    <message>
      <location filename="../chat_view.py" line="201" />
      <source>writing…</source>
      <translation>작성 중…</translation>
    </message>
    <message>
      <location filename="../chat_view.py" line="201" />
      <source>stopped</source>
      <translation>멈춤</translation>
    </message>
    <message>
      <location filename="../chat_view.py" line="201" />
      <source>interrupted</source>
      <translation>중단됨</translation>
    </message>
    <message>
      <location filename="../chat_view.py" line="202" />
      <source>failed</source>
      <translation>실패</translation>
    </message>
    <message>
      <location filename="../chat_view.py" line="213" />
      <source>Copy code</source>
      <translation>코드 복사</translation>
    </message>
  </context>
  <context>
    <name>ModelManager</name>
    <message>
      <location filename="../model_table.py" line="13" />
      <source>Name</source>
      <translation>이름</translation>
    </message>
    <message>
      <location filename="../model_table.py" line="14" />
      <source>Architecture</source>
      <translation>아키텍처</translation>
    </message>
    <message>
      <location filename="../model_table.py" line="15" />
      <source>Size</source>
      <translation>크기</translation>
    </message>
    <message>
      <location filename="../model_table.py" line="16" />
      <source>Quant type</source>
      <translation>양자화 형식</translation>
    </message>
    <message>
      <location filename="../model_table.py" line="17" />
      <source>Context</source>
      <translation>컨텍스트</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="74" />
      <source>Models on this computer</source>
      <translation>이 컴퓨터의 모델</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="77" />
      <source>Use selected model</source>
      <translation>선택한 모델 사용</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="79" />
      <source>Open a GGUF file…</source>
      <translation>GGUF 파일 열기…</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="81" />
      <source>Set up the demo model</source>
      <translation>데모 모델 준비하기</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="84" />
      <source>Refresh</source>
      <translation>새로 고침</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="92" />
      <source>Download an official EXAONE GGUF</source>
      <translation>공식 EXAONE GGUF 내려받기</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="121" />
      <source>Download</source>
      <translation>내려받기</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="123" />
      <source>Repository</source>
      <translation>저장소</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="124" />
      <source>File</source>
      <translation>파일</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="96" />
      <source>This computer has {0} of memory.</source>
      <translation>이 컴퓨터의 메모리는 {0}입니다.</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="97" />
      <source>This computer's memory is unknown.</source>
      <translation>이 컴퓨터의 메모리 크기를 알 수 없습니다.</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="103" />
      <source>Check files and sizes on the Hub</source>
      <translation>Hub에서 파일과 크기 확인</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="105" />
      <source>Sizes marked ≈ are estimates; this asks Hugging Face for each repository's real files (nothing is downloaded)</source>
      <translation>≈ 표시된 크기는 추정값입니다. Hugging Face에 저장소마다 실제 파일을 묻습니다(아무것도 내려받지 않습니다)</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="129" />
      <source>Convert a Hugging Face checkpoint</source>
      <translation>Hugging Face 체크포인트 변환</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="134" />
      <source>Hub id (LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct) or a local folder</source>
      <translation>Hub ID (LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct) 또는 로컬 폴더</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="135" />
      <source>Folder…</source>
      <translation>폴더…</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="141" />
      <source>Convert</source>
      <translation>변환</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="143" />
      <source>Source</source>
      <translation>원본</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="144" />
      <source>Type</source>
      <translation>형식</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="148" />
      <source>Quantize the selected GGUF</source>
      <translation>선택한 GGUF 양자화</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="152" />
      <source>Quantize</source>
      <translation>양자화</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="162" />
      <source>Cancel</source>
      <translation>취소</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="165" />
      <source>Pause</source>
      <translation>일시 정지</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="167" />
      <source>Stop the download and keep what has arrived; Resume continues it, also after the app is restarted</source>
      <translation>다운로드를 멈추고 받은 부분은 남겨 둡니다. 이어받기를 누르면 앱을 다시 시작한 뒤에도 이어서 받습니다</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="184" />
      <source>Paused downloads</source>
      <translation>일시 정지한 다운로드</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="190" />
      <source>Resume</source>
      <translation>이어받기</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="193" />
      <source>Discard</source>
      <translation>버리기</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="195" />
      <source>Delete the part already downloaded</source>
      <translation>이미 받은 부분을 삭제합니다</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="210" />
      <source>{0}: {1} of {2}, paused</source>
      <translation>{0}: {2} 중 {1} 받음, 일시 정지됨</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="235" />
      <source>Deleted the partial download of {0}.</source>
      <translation>{0}의 받다 만 파일을 삭제했습니다.</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="254" />
      <source>Select a model in the list first.</source>
      <translation>먼저 목록에서 모델을 고르세요.</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="259" />
      <source>Open a GGUF model</source>
      <translation>GGUF 모델 열기</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="265" />
      <source>Checkpoint folder</source>
      <translation>체크포인트 폴더</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="287" />
      <source>Stopped asking the Hub; the sizes stay estimates.</source>
      <translation>Hub에 묻기를 멈췄습니다. 크기는 추정값으로 둡니다.</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="292" />
      <source>Asking the Hub for the official files…</source>
      <translation>Hub에 공식 파일 목록을 묻는 중…</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="304" />
      <source>Read {0} of {1} repositories; the others keep estimated sizes ({2})</source>
      <translation>저장소 {1}개 중 {0}개를 읽었습니다. 나머지는 추정 크기로 둡니다 ({2})</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="307" />
      <source>Read the files and sizes of all {0} repositories.</source>
      <translation>저장소 {0}개 모두의 파일과 크기를 읽었습니다.</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="318" />
      <source>Setting up the demo model…</source>
      <translation>데모 모델 준비 중…</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="323" />
      <source>Choose a repository and a file.</source>
      <translation>저장소와 파일을 고르세요.</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="332" />
      <source>Downloading {0}…</source>
      <translation>{0} 내려받는 중…</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="353" />
      <source>{0}% downloaded</source>
      <translation>{0}% 받음</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="354" />
      <source>{0} of {1}</source>
      <translation>{1} 중 {0}</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="356" />
      <source>{0}/s</source>
      <translation>{0}/초</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="358" />
      <source>about {0} left</source>
      <translation>약 {0} 남음</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="364" />
      <source>{0} s</source>
      <translation>{0}초</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="366" />
      <source>{0} min</source>
      <translation>{0}분</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="367" />
      <source>{0} h {1} min</source>
      <translation>{0}시간 {1}분</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="373" />
      <source>Cannot reach Hugging Face: this computer seems to be offline, or needs a proxy (Settings → App → Network).</source>
      <translation>Hugging Face에 연결할 수 없습니다. 이 컴퓨터가 오프라인이거나 프록시가 필요해 보입니다(설정 → 앱 → 네트워크).</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="375" />
      <source>Hugging Face refused the download: accept the model's licence on its page, or log in with a token.</source>
      <translation>Hugging Face가 내려받기를 거절했습니다. 모델 페이지에서 라이선스에 동의하거나 토큰으로 로그인하세요.</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="377" />
      <source>This file is not on Hugging Face (any more); check the name or the mirror.</source>
      <translation>이 파일이 Hugging Face에 없습니다. 이름이나 미러 주소를 확인하세요.</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="378" />
      <source>There is not enough free disk space for this file; free some space and try again.</source>
      <translation>이 파일을 받을 디스크 공간이 부족합니다. 공간을 비우고 다시 시도하세요.</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="380" />
      <source>The download failed: {0}</source>
      <translation>내려받지 못했습니다: {0}</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="385" />
      <source>Enter a Hub id or choose a checkpoint folder.</source>
      <translation>Hub ID를 입력하거나 체크포인트 폴더를 고르세요.</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="388" />
      <source>Converting {0}…</source>
      <translation>{0} 변환 중…</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="393" />
      <source>Select the GGUF to quantize in the list first.</source>
      <translation>먼저 목록에서 양자화할 GGUF를 고르세요.</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="397" />
      <source>Quantizing {0}…</source>
      <translation>{0} 양자화 중…</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="401" />
      <source>Another task is running; wait for it or cancel it.</source>
      <translation>다른 작업이 진행 중입니다. 끝날 때까지 기다리거나 취소하세요.</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="424" />
      <source>Cancelling…</source>
      <translation>취소하는 중…</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="442" />
      <source>Done: {0}</source>
      <translation>완료: {0}</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="452" />
      <source>The task failed: {0}</source>
      <translation>작업을 마치지 못했습니다: {0}</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="459" />
      <source>Paused; Resume continues the download from where it stopped.</source>
      <translation>일시 정지했습니다. 이어받기를 누르면 멈춘 곳부터 이어서 받습니다.</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="464" />
      <source>Cancelled; no file was written.</source>
      <translation>취소했습니다. 파일은 만들어지지 않았습니다.</translation>
    </message>
  </context>
  <context>
    <name>ServerPanel</name>
    <message>
      <location filename="../server_panel.py" line="38" />
      <source>Time</source>
      <translation>시각</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="39" />
      <source>Client</source>
      <translation>클라이언트</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="40" />
      <source>Model</source>
      <translation>모델</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="41" />
      <source>Tokens</source>
      <translation>토큰</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="42" />
      <source>Duration</source>
      <translation>걸린 시간</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="43" />
      <source>Status</source>
      <translation>상태</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="61" />
      <source>Serve the loaded model on localhost</source>
      <translation>불러온 모델을 이 컴퓨터(localhost)에서 서비스하기</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="63" />
      <source>An OpenAI-compatible server on this computer only (127.0.0.1): editors, notebooks and agent frameworks can use the model.</source>
      <translation>이 컴퓨터에서만 열리는 OpenAI 호환 서버(127.0.0.1)입니다. 편집기, 노트북, 에이전트 프레임워크에서 모델을 쓸 수 있습니다.</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="72" />
      <source>Clients are set up with this port; kept for the next time</source>
      <translation>클라이언트는 이 포트로 설정합니다. 다음 실행에도 유지됩니다</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="74" />
      <source>Port</source>
      <translation>포트</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="75" />
      <source>Start with the app</source>
      <translation>앱과 함께 시작</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="77" />
      <source>Serve as soon as the model has loaded when the app starts</source>
      <translation>앱을 시작해 모델을 불러오면 바로 서비스합니다</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="88" />
      <source>not serving</source>
      <translation>서비스하지 않음</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="89" />
      <location filename="../server_panel.py" line="104" />
      <source>Copy</source>
      <translation>복사</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="94" />
      <source>Require an API key</source>
      <translation>API 키 요구</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="96" />
      <source>Programs must then send this key ('Authorization: Bearer KEY'); it is kept for the next time until you make a new one.</source>
      <translation>그러면 프로그램은 요청마다 이 키를 보내야 합니다(HTTP 헤더 'Authorization: Bearer &lt;키&gt;'). 새 키를 만들 때까지 다음 실행에도 같은 키를 씁니다.</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="103" />
      <source>no key: any program on this computer may use it</source>
      <translation>키 없음: 이 컴퓨터의 어떤 프로그램이든 쓸 수 있습니다</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="107" />
      <source>New key</source>
      <translation>새 키</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="109" />
      <source>Replace the key: programs set up with the old one are refused</source>
      <translation>키 바꾸기: 이전 키를 쓰는 프로그램은 거절됩니다</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="123" />
      <source>The requests answered, newest first: no prompt or reply is kept</source>
      <translation>응답한 요청 목록(최신순)입니다. 프롬프트나 답변 내용은 남기지 않습니다</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="124" />
      <source>Clear the log</source>
      <translation>기록 지우기</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="135" />
      <source>Requests</source>
      <translation>요청</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="145" />
      <source>Server</source>
      <translation>서버</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="162" />
      <source>Load a model first: the server answers with the loaded model.</source>
      <translation>먼저 모델을 불러오세요. 서버는 불러온 모델로 답합니다.</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="170" />
      <location filename="../server_panel.py" line="185" />
      <source>Serving the model at {0}</source>
      <translation>{0}에서 모델을 서비스하는 중</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="214" />
      <source>Port {0} is in use by another program: choose another port.</source>
      <translation>포트 {0}번을 다른 프로그램이 쓰고 있습니다: 다른 포트를 고르세요.</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="215" />
      <source>The server could not start: {0}</source>
      <translation>서버를 시작하지 못했습니다: {0}</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="239" />
      <source>Clients may name the model {0}, or give any other name: replies name {1}.</source>
      <translation>클라이언트는 모델 이름으로 {0} 또는 다른 어떤 이름이든 쓸 수 있습니다. 답변에는 {1}(으)로 표시됩니다.</translation>
    </message>
    <message>
      <location filename="../server_panel.py" line="254" />
      <source>{0} s</source>
      <translation>{0}초</translation>
    </message>
  </context>
  <context>
    <name>SettingsLink</name>
    <message>
      <location filename="../settings_link.py" line="148" />
      <source>Using OPENAI_API_KEY from the environment.</source>
      <translation>환경 변수 OPENAI_API_KEY를 사용합니다.</translation>
    </message>
    <message>
      <location filename="../settings_link.py" line="149" />
      <source>A key is stored in the OS keychain.</source>
      <translation>키가 OS 키체인에 저장되어 있습니다.</translation>
    </message>
    <message>
      <location filename="../settings_link.py" line="149" />
      <source>No API key set.</source>
      <translation>API 키가 없습니다.</translation>
    </message>
  </context>
  <context>
    <name>SettingsPanel</name>
    <message>
      <location filename="../settings_panel.py" line="38" />
      <source>Local first, ask before using the cloud</source>
      <translation>로컬 먼저, 클라우드 사용 전에 묻기</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="39" />
      <source>Always the cloud</source>
      <translation>항상 클라우드</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="40" />
      <source>Local first, then the cloud without asking</source>
      <translation>로컬 먼저, 실패하면 묻지 않고 클라우드</translation>
    </message>
    <message>
      <location filename="../setting_field.py" line="27" />
      <source>model default</source>
      <translation>모델 기본값</translation>
    </message>
    <message>
      <location filename="../setting_field.py" line="28" />
      <location filename="../setting_field.py" line="32" />
      <source>on</source>
      <translation>켬</translation>
    </message>
    <message>
      <location filename="../setting_field.py" line="29" />
      <location filename="../setting_field.py" line="32" />
      <source>off</source>
      <translation>끔</translation>
    </message>
    <message>
      <location filename="../setting_field.py" line="33" />
      <source>auto</source>
      <translation>자동</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="44" />
      <source>LG's recommended settings</source>
      <translation>LG 권장 설정</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="45" />
      <source>Precise (the same answer every time)</source>
      <translation>정확 (매번 같은 답변)</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="46" />
      <source>Balanced</source>
      <translation>균형</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="47" />
      <source>Creative</source>
      <translation>창의적</translation>
    </message>
    <message>
      <location filename="../setting_field.py" line="72" />
      <location filename="../setting_field.py" line="140" />
      <location filename="../setting_field.py" line="154" />
      <source>unset</source>
      <translation>미설정</translation>
    </message>
    <message>
      <location filename="../setting_field.py" line="97" />
      <source>The setting's name in transformers and in exaone-generate</source>
      <translation>transformers와 exaone-generate에서 쓰는 설정 이름</translation>
    </message>
    <message>
      <location filename="../setting_field.py" line="104" />
      <source>not applied by the cloud</source>
      <translation>클라우드에서 적용 안 됨</translation>
    </message>
    <message>
      <location filename="../setting_field.py" line="108" />
      <source>Reset</source>
      <translation>초기화</translation>
    </message>
    <message>
      <location filename="../setting_field.py" line="160" />
      <source>One per line; \n is a newline.</source>
      <translation>한 줄에 하나씩, \n은 줄바꿈입니다.</translation>
    </message>
    <message>
      <location filename="../setting_field.py" line="197" />
      <source>default {0}</source>
      <translation>기본값 {0}</translation>
    </message>
    <message>
      <location filename="../setting_field.py" line="200" />
      <source>model {0}</source>
      <translation>모델 {0}</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="247" />
      <source>Enter sends the message (Shift+Enter starts a new line)</source>
      <translation>Enter로 보내기 (Shift+Enter는 줄바꿈)</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="249" />
      <source>Off: Enter starts a new line and Ctrl+Enter sends.</source>
      <translation>끄면 Enter는 줄바꿈, Ctrl+Enter는 보내기입니다.</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="252" />
      <source>Network</source>
      <translation>네트워크</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="258" />
      <source>A mirror of the Hugging Face Hub for downloads (HF_ENDPOINT).</source>
      <translation>내려받기에 쓸 Hugging Face Hub 미러입니다(HF_ENDPOINT).</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="262" />
      <source>The proxy your network needs for HTTPS (HTTPS_PROXY).</source>
      <translation>네트워크에서 HTTPS에 필요한 프록시입니다(HTTPS_PROXY).</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="270" />
      <source>Hub mirror (HF_ENDPOINT)</source>
      <translation>Hub 미러 (HF_ENDPOINT)</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="271" />
      <source>HTTPS proxy (HTTPS_PROXY)</source>
      <translation>HTTPS 프록시 (HTTPS_PROXY)</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="79" />
      <source>Cloud</source>
      <translation>클라우드</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="99" />
      <source>Reasoning switch</source>
      <translation>추론 스위치</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="108" />
      <source>Your own settings</source>
      <translation>직접 정한 설정</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="110" />
      <source>Preset</source>
      <translation>프리셋</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="141" />
      <source>Reset all</source>
      <translation>모두 초기화</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="161" />
      <source>LG's recommended for {0}</source>
      <translation>{0}용 LG 권장 설정</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="163" />
      <source>A preset sets the sampling settings below; the reply length, seed and stop texts stay yours.</source>
      <translation>프리셋은 아래 샘플링 설정을 바꿉니다. 답변 길이, 시드, 멈춤 문자열은 그대로 둡니다.</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="169" />
      <source>System prompt for this conversation</source>
      <translation>이 대화의 시스템 프롬프트</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="172" />
      <source>For example: You are a helpful assistant.</source>
      <translation>예: 당신은 친절한 도우미입니다.</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="190" />
      <source>Use the cloud fallback (OpenAI)</source>
      <translation>클라우드 대체 사용 (OpenAI)</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="194" />
      <source>Off by default. When on, your messages may be sent to the cloud service below; every cloud reply is marked.</source>
      <translation>기본값은 꺼짐입니다. 켜면 메시지가 아래 클라우드 서비스로 보내질 수 있으며, 클라우드 답변은 모두 표시됩니다.</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="199" />
      <source>Cloud settings</source>
      <translation>클라우드 설정</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="218" />
      <source>Paste an API key</source>
      <translation>API 키를 붙여 넣으세요</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="219" />
      <source>Save in keychain</source>
      <translation>키체인에 저장</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="221" />
      <source>Remove</source>
      <translation>지우기</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="228" />
      <source>Routing</source>
      <translation>라우팅</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="78" />
      <location filename="../settings_panel.py" line="229" />
      <source>Model</source>
      <translation>모델</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="74" />
      <source>Replies</source>
      <translation>답변</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="75" />
      <source>How replies are written: presets and every sampling setting</source>
      <translation>답변을 만드는 방식: 프리셋과 모든 샘플링 설정</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="76" />
      <source>Chat</source>
      <translation>대화</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="80" />
      <source>App</source>
      <translation>앱</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="230" />
      <source>Base URL</source>
      <translation>기본 URL</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="231" />
      <source>API key</source>
      <translation>API 키</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="242" />
      <source>Follow the system</source>
      <translation>시스템 설정 따르기</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="246" />
      <source>Language</source>
      <translation>언어</translation>
    </message>
  </context>
  <context>
    <name>StatusLine</name>
    <message>
      <location filename="../status_line.py" line="41" />
      <source>Done.</source>
      <translation>완료.</translation>
    </message>
    <message>
      <location filename="../status_line.py" line="41" />
      <source>Stopped; the partial reply was kept.</source>
      <translation>멈췄습니다. 여기까지의 답변은 저장되었습니다.</translation>
    </message>
    <message>
      <location filename="../status_line.py" line="42" />
      <source>The reply failed.</source>
      <translation>답변을 만들지 못했습니다.</translation>
    </message>
    <message>
      <location filename="../status_line.py" line="45" />
      <source>The reply failed: {0}</source>
      <translation>답변을 만들지 못했습니다: {0}</translation>
    </message>
    <message>
      <location filename="../status_line.py" line="45" />
      <source>Note: {0}</source>
      <translation>참고: {0}</translation>
    </message>
    <message>
      <location filename="../status_line.py" line="48" />
      <source>{0} earlier messages were left out to fit the context; the chat keeps them.</source>
      <translation>컨텍스트에 맞추려고 앞선 메시지 {0}개를 뺐습니다. 대화 기록에는 그대로 남아 있습니다.</translation>
    </message>
    <message>
      <location filename="../status_line.py" line="53" />
      <source>{0:.1f} tok/s</source>
      <translation>{0:.1f} 토큰/초</translation>
    </message>
    <message>
      <location filename="../status_line.py" line="57" />
      <source>Model: {0}</source>
      <translation>모델: {0}</translation>
    </message>
    <message>
      <location filename="../status_line.py" line="57" />
      <source>none</source>
      <translation>없음</translation>
    </message>
    <message>
      <location filename="../status_line.py" line="58" />
      <source>Backend: {0}</source>
      <translation>백엔드: {0}</translation>
    </message>
    <message>
      <location filename="../status_line.py" line="64" />
      <source>Context: {0}{1}</source>
      <translation>컨텍스트: {0}{1}</translation>
    </message>
    <message>
      <location filename="../status_line.py" line="66" />
      <source>prompt: {0} reused, {1} read</source>
      <translation>프롬프트: {0}개 재사용, {1}개 읽음</translation>
    </message>
    <message>
      <location filename="../status_line.py" line="68" />
      <source>{0} earlier messages left out</source>
      <translation>앞선 메시지 {0}개 뺌</translation>
    </message>
    <message>
      <location filename="../status_line.py" line="70" />
      <source>drafts: {0} of {1} kept</source>
      <translation>초안: {1}개 중 {0}개 채택</translation>
    </message>
  </context>
  <context>
    <name>WelcomePage</name>
    <message>
      <location filename="../welcome.py" line="57" />
      <source>Welcome to EXAONE Desktop</source>
      <translation>EXAONE Desktop에 오신 것을 환영합니다</translation>
    </message>
    <message>
      <location filename="../welcome.py" line="59" />
      <source>Chat with LG AI Research's EXAONE models on this computer: private, and offline once the model is here. Start with the model recommended for this computer.</source>
      <translation>LG AI연구원의 EXAONE 모델과 이 컴퓨터에서 대화하세요. 대화는 밖으로 나가지 않으며, 모델을 받은 뒤에는 오프라인으로 동작합니다. 이 컴퓨터에 맞는 추천 모델로 시작하세요.</translation>
    </message>
    <message>
      <location filename="../welcome.py" line="67" />
      <source>Recommended for this computer</source>
      <translation>이 컴퓨터에 추천</translation>
    </message>
    <message>
      <location filename="../welcome.py" line="77" />
      <source>Download</source>
      <translation>내려받기</translation>
    </message>
    <message>
      <location filename="../welcome.py" line="84" />
      <source>Cancel</source>
      <translation>취소</translation>
    </message>
    <message>
      <location filename="../welcome.py" line="97" />
      <source>Try without downloading</source>
      <translation>내려받지 않고 써 보기</translation>
    </message>
    <message>
      <location filename="../welcome.py" line="98" />
      <source>A tiny demo model that works at once, offline. It is not EXAONE: it only recites one short text, to show the app working.</source>
      <translation>바로 오프라인으로 동작하는 아주 작은 데모 모델입니다. EXAONE이 아니며, 앱이 동작하는 모습을 보여 주려고 짧은 글 하나만 외워 말합니다.</translation>
    </message>
    <message>
      <location filename="../welcome.py" line="100" />
      <source>Try the demo model</source>
      <translation>데모 모델 써 보기</translation>
    </message>
    <message>
      <location filename="../welcome.py" line="102" />
      <source>See every official model, or convert one…</source>
      <translation>모든 공식 모델 보기 또는 변환하기…</translation>
    </message>
    <message>
      <location filename="../welcome.py" line="116" />
      <source>unknown</source>
      <translation>알 수 없음</translation>
    </message>
    <message>
      <location filename="../welcome.py" line="117" />
      <source>{0} download · needs about {1} of this computer's {2} of memory</source>
      <translation>내려받기 {0} · 이 컴퓨터의 메모리 {2} 중 약 {1} 필요</translation>
    </message>
    <message>
      <location filename="../welcome.py" line="121" />
      <source>Licence: {0}. Read it on &lt;a href="{1}"&gt;the model's page&lt;/a&gt; before you use the model.</source>
      <translation>라이선스: {0}. 모델을 쓰기 전에 &lt;a href="{1}"&gt;모델 페이지&lt;/a&gt;에서 읽어 보세요.</translation>
    </message>
    <message>
      <location filename="../welcome.py" line="123" />
      <source>Download ({0})</source>
      <translation>내려받기 ({0})</translation>
    </message>
  </context>
  <context>
    <name>Wording</name>
    <message>
      <location filename="../wording.py" line="18" />
      <source>This model cannot read images: it has no vision projector (mmproj) beside it. Put its mmproj-*.gguf file in the same folder, or load a model that reads images, such as EXAONE 4.5. The image stays attached.</source>
      <translation>이 모델은 이미지를 읽을 수 없습니다. 옆에 비전 프로젝터(mmproj)가 없습니다. mmproj-*.gguf 파일을 같은 폴더에 두거나, EXAONE 4.5처럼 이미지를 읽는 모델을 불러오세요. 이미지는 첨부된 채로 남습니다.</translation>
    </message>
    <message>
      <location filename="../wording.py" line="21" />
      <source>The attached file could not be used as an image: {0}. Attach a PNG, JPEG or WebP image of at most 20 MB.</source>
      <translation>첨부한 파일을 이미지로 쓸 수 없습니다: {0}. 20MB 이하의 PNG, JPEG, WebP 이미지를 첨부하세요.</translation>
    </message>
    <message>
      <location filename="../wording.py" line="25" />
      <source>This model cannot read images: it has no vision projector (mmproj) beside it. Load a model that reads images, such as EXAONE 4.5, or put the model's mmproj-*.gguf file beside it.</source>
      <translation>이 모델은 이미지를 읽을 수 없습니다. 옆에 비전 프로젝터(mmproj)가 없습니다. EXAONE 4.5처럼 이미지를 읽는 모델을 불러오거나, 모델의 mmproj-*.gguf 파일을 같은 폴더에 두세요.</translation>
    </message>
    <message>
      <location filename="../wording.py" line="29" />
      <source>This was not attached: only PNG, JPEG and WebP images of at most 20 MB can be attached.</source>
      <translation>첨부하지 않았습니다. 20MB 이하의 PNG, JPEG, WebP 이미지만 첨부할 수 있습니다.</translation>
    </message>
    <message>
      <location filename="../wording.py" line="32" />
      <source>This document was not attached: {0}</source>
      <translation>이 문서는 첨부하지 않았습니다: {0}</translation>
    </message>
    <message>
      <location filename="../wording.py" line="43" />
      <source>{0} must be within {1}; it keeps its value.</source>
      <translation>{0} 값은 {1} 범위여야 합니다. 원래 값을 그대로 둡니다.</translation>
    </message>
    <message>
      <location filename="../wording.py" line="45" />
      <source>{0} must be above 0 while {1} is on; for the same answer every time, turn {1} off.</source>
      <translation>{1}이(가) 켜져 있으면 {0} 값은 0보다 커야 합니다. 매번 같은 답변을 원하면 {1}을(를) 끄세요.</translation>
    </message>
    <message>
      <location filename="../wording.py" line="48" />
      <source>More than one reply ({0}) needs {1} on.</source>
      <translation>답변을 여러 개 만들려면({0}) {1}을(를) 켜야 합니다.</translation>
    </message>
    <message>
      <location filename="../wording.py" line="54" />
      <source>The context can be at most {0} tokens with this model (or automatic).</source>
      <translation>이 모델의 컨텍스트는 최대 {0} 토큰입니다(또는 자동).</translation>
    </message>
    <message>
      <location filename="../wording.py" line="59" />
      <source>This value cannot be used: {0}</source>
      <translation>이 값은 쓸 수 없습니다: {0}</translation>
    </message>
    <message>
      <location filename="../wording.py" line="62" />
      <source>The model could not be loaded: {0}</source>
      <translation>모델을 불러오지 못했습니다: {0}</translation>
    </message>
  </context>
</TS>